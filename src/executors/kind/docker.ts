// The Docker Engine client the kind executor and the rehearsal share: testcontainers' dockerode, loaded on first
// use (testcontainers is an optional dependency). In a module of its own so that kind.ts's published types do not
// name dockerode (a user of the executors who never runs kind needs neither package nor its types).
import type Dockerode from 'dockerode';
import { importForFeature } from '../../optional.js';

let client: Promise<Dockerode> | undefined;

/**
 * testcontainers' docker client (dockerode), made once per process; a failure is retried on the next call. Shared
 * with src/rehearse (which creates the node containers this executor reaches).
 */
export function dockerClient(): Promise<Dockerode> {
  client ??= (async () => {
    // Before testcontainers is loaded and asked for its client: no reaper container, no image pulled (kind.ts's header).
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';
    // Loaded on first use: the CLI and the service start without it when no kind executor runs; it is an optional
    // dependency (src/optional.ts), whose absence is a MissingDependencyError naming it.
    const { getContainerRuntimeClient } = await importForFeature('the kind executor and rehearse', () => import('testcontainers'));
    return (await getContainerRuntimeClient()).container.dockerode;
  })().catch((e: unknown) => {
    client = undefined;
    throw e;
  });
  return client;
}

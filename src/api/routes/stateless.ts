// POST /validate and POST /render: answer about a spec without storing anything or touching a host.
import { createRoute } from '@hono/zod-openapi';
import { completeSecrets, newBootstrapToken, newCAAlgorithm } from '../../secrets/secrets.js';
import { newClusterCAAsync } from '../../secrets/ca.js';
import { randomBytes } from 'node:crypto';
import type { Secrets } from '../../secrets/types.js';
import type { EncryptionAlgorithm } from '../../spec/schema.js';
import { outputPath } from '../../generators/index.js';
import { Redactor, secretValues } from '../../runner/redact.js';
import { sha256 } from '../../plan/build.js';
import { limitBody, readSpec } from '../body.js';
import { RenderResult, ValidateResult } from '../schemas.js';
import { errorResponses, newApp, specBody, type AppDeps } from './common.js';

const ephemeral = new Map<EncryptionAlgorithm, Promise<Pick<Secrets, 'bootstrapToken' | 'certificateKey' | 'ca'>>>();

/** Throwaway secrets for previews, made once per process and CA algorithm, never stored or returned. */
function previewSecrets(alg: EncryptionAlgorithm) {
  let made = ephemeral.get(alg);
  if (!made) {
    made = newClusterCAAsync(alg).then((ca) => ({ ca, bootstrapToken: newBootstrapToken(), certificateKey: randomBytes(32).toString('hex') }));
    made.catch(() => ephemeral.delete(alg));
    ephemeral.set(alg, made);
  }
  return made;
}

export function statelessApp(d: AppDeps) {
  const app = newApp();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/validate',
      tags: ['stateless'],
      summary: 'Validate a cluster spec (strict: unknown fields are errors; every problem at once)',
      middleware: [limitBody] as const,
      request: { body: specBody('the cluster spec') },
      responses: {
        200: { description: 'valid, with warnings', content: { 'application/json': { schema: ValidateResult } } },
        ...errorResponses(400, 401, 413, 415, 422),
      },
    }),
    async (c) => {
      const { spec, warnings } = await readSpec(c, d.jobs);
      return c.json({ ok: true as const, cluster: spec.metadata.name, hosts: spec.spec.hosts.length, warnings }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/render',
      tags: ['stateless'],
      summary: 'Preview every file a spec renders to (secret files listed without content)',
      description:
        'Rendered with throwaway secrets made for this server process (a preview: the token, certificate key, CA and passwords ' +
        'differ from any real install). Files holding secrets are listed with content null. The files of an install are at ' +
        'GET /clusters/{id}/files.',
      middleware: [limitBody] as const,
      request: { body: specBody('the cluster spec') },
      responses: {
        200: { description: 'the files', content: { 'application/json': { schema: RenderResult } } },
        ...errorResponses(400, 401, 413, 415, 422, 500),
      },
    }),
    async (c) => {
      const { spec, warnings } = await readSpec(c, d.jobs);
      const secrets = completeSecrets(await previewSecrets(newCAAlgorithm(spec)), spec).secrets;
      const redact = new Redactor(secretValues(secrets));
      const { files: rendered } = await d.jobs.prepare({ spec, secrets, executor: 'ssh' });
      const files = rendered.map((f) => ({
        path: outputPath(f),
        host: f.kind === 'host' ? f.host : null,
        mode: f.mode,
        secret: f.secret,
        sha256: f.secret ? null : sha256(f.content),
        bytes: Buffer.byteLength(f.content),
        content: f.secret ? null : redact.text(f.content),
      }));
      return c.json(
        { cluster: spec.metadata.name, warnings, note: 'preview rendered with throwaway secrets; secret files are listed without content', files },
        200,
      );
    },
  );

  return app;
}

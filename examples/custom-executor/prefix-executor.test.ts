// The exported conformance suite proves PrefixExecutor, exactly as it proves airgap-k8s's own executors.
//   npx vitest run prefix-executor.test.ts
import { executorConformance } from 'airgap-k8s/executors/conformance';
import { PrefixExecutor } from './prefix-executor.js';

executorConformance('PrefixExecutor through sh -c \'exec "$@"\'', () => new PrefixExecutor({ host: 'prefix-example', prefix: ['sh', '-c', 'exec "$@"', 'sh'] }));

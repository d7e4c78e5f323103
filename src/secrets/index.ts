/**
 * `airgap-k8s/secrets`: the cluster's secrets file (bootstrap token, certificate key, cluster CA, passwords and SSH
 * key paths by reference name) and the render inputs made from it. Secrets never live in the spec; the file is
 * created with fresh random values and mode 0600 when missing, and completed when the spec references something new.
 * The cluster CA is made in-process with node:crypto (no openssl).
 *
 * ```ts
 * import { loadOrCreateSecrets, inputsFromSecrets } from 'airgap-k8s/secrets';
 * const s = loadOrCreateSecrets('cluster.secrets.yaml', spec);
 * if (!s.ok) throw new Error(formatIssues(s.issues));
 * const inputs = inputsFromSecrets(s.secrets);   // what every generator takes besides the spec
 * ```
 *
 * @module secrets
 */
export type { Secrets } from './types.js';
export {
  loadOrCreateSecrets,
  loadOrCreateSecretsAsync,
  readSecretsFile,
  parseSecrets,
  completeSecrets,
  secretsToYaml,
  writeSecretsFile,
  inputsFromSecrets,
  caCertHash,
  type SecretsResult,
} from './secrets.js';

// What the secrets file holds, as data: the type generators receive inside their inputs and the one format rule a
// generator checks again (keepalived's auth_pass). No I/O here, so pure code (generators, executors) may import it;
// reading, creating and completing the file is ./secrets.ts.

/**
 * A cluster's secrets: the kubeadm bootstrap token and certificate key, the cluster CA, passwords and SSH key paths by
 * reference name. Never part of the spec; kept in a 0600 file.
 */
export interface Secrets {
  /** kubeadm bootstrap token, [a-z0-9]{6}.[a-z0-9]{16} */
  bootstrapToken: string;
  /** kubeadm certificate key for --upload-certs: 64 hex chars (32 bytes) */
  certificateKey: string;
  /** The cluster CA, created before kubeadm init so that join configs can pin its hash. PEM. */
  ca: { cert: string; key: string };
  /** Passwords by reference name (spec: authPassRef, adminPasswordRef, secretKeyRef, apiKeyRef). */
  passwords: Record<string, string>;
  /** SSH private keys by reference name: a path on the machine running airgap-k8s. */
  sshKeys: Record<string, { path: string }>;
}

/** VRRP auth_pass: keepalived uses 8 chars at most; no quotes, spaces, or '$' (keepalived expands $NAME even
 * inside quotes). The generator quotes it, so '#', '!' and braces are safe. */
export const VRRP_PASS = /^[A-Za-z0-9!%&()*+,./:;<=>?@^_{|}~-]{1,8}$/;

// Certificates on day two. `certs check`: what `kubeadm certs check-expiration -o json` says on every control plane,
// plus each node's kubelet client certificate (only its certificate part is read off the host; the key never
// leaves it), parsed and reported here. `certs renew`: a plan, one control plane at a time: kubeadm certs renew
// all, then its static pods restarted in dependency order (etcd, healthy again; kube-apiserver, ready again;
// controller-manager, scheduler) so every process serves and uses the new certificates. Pure.
import { X509Certificate } from 'node:crypto';
import type { ClusterView } from '../spec/derive.js';
import type { Plan, Retry, Step } from '../plan/types.js';
import { apiServerBindPort } from '../generators/kubeadm/kubeadm.js';
import { etcdctl } from './etcdctl.js';
import { restartStaticPod, waitApiServerReady } from './static-pods.js';

const MIN = 60_000;
const ONCE: Retry = { attempts: 1, backoffMs: 0 };

export const KUBELET_CLIENT_CERT = '/var/lib/kubelet/pki/kubelet-client-current.pem';
/** Prints only the certificate blocks of $1 (the kubelet's file holds its private key too). */
export const CERT_ONLY = ['sed', '-n', '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'];
export const CHECK_EXPIRATION = ['kubeadm', 'certs', 'check-expiration', '-o', 'json'];

export interface CertExpiry {
  host: string;
  name: string;
  /** ISO time, or null when the certificate is missing or external */
  notAfter: string | null;
  ca: boolean;
  note?: string;
}

/** kubeadm's CertificateExpirationInfo (output.kubeadm.k8s.io) for one host. */
export function parseCheckExpiration(host: string, json: string): CertExpiry[] {
  const v = JSON.parse(json) as {
    certificates?: { name: string; expirationDate?: string; externallyManaged?: boolean; missing?: boolean }[];
    certificateAuthorities?: { name: string; expirationDate?: string; externallyManaged?: boolean; missing?: boolean }[];
  };
  const rows = (list: typeof v.certificates, ca: boolean): CertExpiry[] =>
    (list ?? []).map((c) => ({
      host,
      name: c.name,
      ca,
      notAfter: c.missing || !c.expirationDate ? null : new Date(c.expirationDate).toISOString(),
      ...(c.missing ? { note: 'missing' } : c.externallyManaged ? { note: 'externally managed' } : {}),
    }));
  return [...rows(v.certificateAuthorities, true), ...rows(v.certificates, false)];
}

/** The first certificate of a PEM text. */
export function pemExpiry(host: string, name: string, pem: string): CertExpiry {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!block) return { host, name, ca: false, notAfter: null, note: 'no certificate found' };
  return { host, name, ca: false, notAfter: new Date(new X509Certificate(block[0]).validTo).toISOString() };
}

/** A table: host, certificate, expiry, days left; warnings under `warnDays`. */
export function formatExpiries(rows: readonly CertExpiry[], now: Date, warnDays = 30): string {
  const out = [`${'HOST'.padEnd(10)} ${'CERTIFICATE'.padEnd(34)} ${'EXPIRES'.padEnd(22)} DAYS LEFT`];
  let soon = 0;
  for (const r of rows) {
    const days = r.notAfter ? Math.floor((Date.parse(r.notAfter) - now.getTime()) / 86_400_000) : null;
    if (days !== null && days < warnDays) soon++;
    out.push(`${r.host.padEnd(10)} ${`${r.name}${r.ca ? ' (CA)' : ''}`.padEnd(34)} ${(r.notAfter?.replace(/\.\d+Z$/, 'Z') ?? '-').padEnd(22)} ${days ?? r.note ?? '-'}${days !== null && days < warnDays ? '  <- renew soon' : ''}`);
  }
  out.push('', soon ? `${soon} certificate${soon === 1 ? '' : 's'} expire within ${warnDays} days: airgap-k8s certs renew` : `none expires within ${warnDays} days`);
  return `${out.join('\n')}\n`;
}

export function certsRenewPlan(view: ClusterView): Plan {
  const steps: Step[] = [];
  const base = { phase: 'certs-renew' as const, retry: ONCE };
  for (const h of view.controlPlanes) {
    const on = { ...base, host: h.name };
    steps.push(
      { ...on, id: `certs-renew/${h.name}/renew`, kind: 'exec', description: `kubeadm certs renew all on ${h.name}`, argv: ['kubeadm', 'certs', 'renew', 'all'], timeoutMs: 5 * MIN },
      { ...on, id: `certs-renew/${h.name}/restart/etcd`, kind: 'exec', description: `restart etcd on ${h.name}`, argv: restartStaticPod('etcd'), timeoutMs: 4 * MIN },
      {
        ...on, id: `certs-renew/${h.name}/etcd-healthy`, kind: 'wait-for', readOnly: true, description: `wait for ${h.name}'s etcd member to be healthy`,
        argv: etcdctl('endpoint', 'health'), intervalMs: 2_000, timeoutMs: 5 * MIN,
      },
      { ...on, id: `certs-renew/${h.name}/restart/kube-apiserver`, kind: 'exec', description: `restart kube-apiserver on ${h.name}`, argv: restartStaticPod('kube-apiserver'), timeoutMs: 4 * MIN },
      {
        ...on, id: `certs-renew/${h.name}/apiserver-ready`, kind: 'exec', readOnly: true, description: `wait for kube-apiserver on ${h.name} to answer /readyz`,
        argv: waitApiServerReady(h.address, apiServerBindPort(view)), timeoutMs: 6 * MIN,
      },
      {
        ...on, id: `certs-renew/${h.name}/restart/controllers`, kind: 'exec', description: `restart kube-controller-manager and kube-scheduler on ${h.name}`,
        argv: restartStaticPod('kube-controller-manager', 'kube-scheduler'), timeoutMs: 4 * MIN,
      },
    );
  }
  return { cluster: view.name, phases: [{ name: 'certs-renew', serial: true, ordered: true, steps }] };
}

// HTTPS for the service: which listen addresses count as loopback (the only place plain HTTP is the default), the
// self-signed certificate made at the first start off loopback (openssl, off the event loop, into DATA_DIR/tls), and
// certificate fingerprints in openssl's notation. Facts (hostname, interface addresses) come in as arguments.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and localhost. Any other name or address is off loopback. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // the URL parser writes an IPv6 address in its shortest form (0:0:0:0:0:0:0:1 -> ::1, ::ffff:127.0.0.1 -> ::ffff:7f00:1)
  const n = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return n === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(n);
}

/** True for the addresses that mean "every interface". */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export interface HostFacts {
  hostname: string;
  /** os.networkInterfaces() */
  interfaces: NodeJS.Dict<{ address: string; family: string | number }[]>;
}

/**
 * The names a certificate for `host` should carry: the listen address itself (for 0.0.0.0 and :: every non-loopback
 * IPv4 address of the machine instead), and the machine's hostname as a DNS name. Sorted, without duplicates.
 */
export function subjectAltNames(host: string, facts: HostFacts): { ips: string[]; dns: string[] } {
  const ips = new Set<string>();
  const dns = new Set<string>();
  if (isWildcard(host)) {
    for (const list of Object.values(facts.interfaces)) {
      for (const a of list ?? []) if ((a.family === 'IPv4' || a.family === 4) && !isLoopback(a.address)) ips.add(a.address);
    }
  } else if (isIP(host)) ips.add(host);
  else dns.add(host.toLowerCase());
  if (facts.hostname) dns.add(facts.hostname.toLowerCase());
  return { ips: [...ips].sort(), dns: [...dns].sort() };
}

/** "AB:CD:..." (upper case, colon-separated) from colon-separated or plain hex in any case; undefined if not SHA-256. */
export function normalizeFingerprint(s: string): string | undefined {
  const hex = s.trim().replace(/^sha256( fingerprint)?[=:]\s*/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** As `openssl x509 -noout -fingerprint -sha256` prints it. */
export function fingerprintLine(certPem: string): string {
  return `sha256 Fingerprint=${new X509Certificate(certPem).fingerprint256}`;
}

/** openssl arguments for a self-signed server certificate: ECDSA P-256, 825 days, the given SANs, not a CA. */
function serverCertArgs(dir: string, san: { ips: string[]; dns: string[] }): string[] {
  const cn = san.dns[0] ?? san.ips[0] ?? 'airgap-k8s';
  const alt = [...san.dns.map((d) => `DNS:${d}`), ...san.ips.map((i) => `IP:${i}`)].join(',');
  return [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '825',
    '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt'), '-subj', `/CN=${cn}/O=airgap-k8s`,
    ...(alt ? ['-addext', `subjectAltName=${alt}`] : []),
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth',
  ];
}

export interface ServerCert {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** made by this call (the caller prints the fingerprint once) */
  generated: boolean;
}

/**
 * DATA_DIR/tls/server.crt and server.key (0600, directory 0700): the ones from an earlier start when both are there,
 * still valid and made for this address; otherwise a new pair (both files replaced, the key first).
 */
export async function ensureServerCert(dir: string, host: string, facts: HostFacts, now: Date = new Date()): Promise<ServerCert> {
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const san = subjectAltNames(host, facts);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    if (covers(cert, san, now)) {
      chmodSync(keyFile, 0o600);
      return { cert, key: readFileSync(keyFile, 'utf8'), certFile, keyFile, generated: false };
    }
  }
  const tmp = mkdtempSync(join(dir, '.new-'));
  try {
    await promisify(execFile)('openssl', serverCertArgs(tmp, san));
    chmodSync(join(tmp, 'server.key'), 0o600);
    renameSync(join(tmp, 'server.key'), keyFile);
    renameSync(join(tmp, 'server.crt'), certFile);
  } catch (e) {
    throw new Error(`could not create the TLS certificate with openssl (is it installed?): ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile, generated: true };
}

/** The certificate is valid now and names every address and name it should. */
function covers(certPem: string, san: { ips: string[]; dns: string[] }, now: Date): boolean {
  try {
    const c = new X509Certificate(certPem);
    if (new Date(c.validTo) <= now || new Date(c.validFrom) > now) return false;
    return san.ips.every((ip) => c.checkIP(ip) !== undefined) && san.dns.every((d) => c.checkHost(d) !== undefined);
  } catch {
    return false;
  }
}

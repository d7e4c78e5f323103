// Host key checking for the SSH executor: a pinned fingerprint, or OpenSSH known_hosts (plain and hashed entries,
// `[host]:port` for non-22 ports, wildcards and negations, @revoked). An unknown key is NEVER accepted: the
// rejection prints the offered fingerprint (as `ssh-keygen -l` prints it) so the user can check and pin it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `SHA256:<base64 without padding>` of a host key blob, exactly as `ssh-keygen -l` and `ssh` print it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string), e.g. 'ssh-ed25519'. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const n = keyBlob.readUInt32BE(0);
  if (n > 64 || keyBlob.length < 4 + n) return 'unknown';
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

/** One line of a known_hosts file: its line number, marker, host patterns and key. */
export interface KnownHostEntry {
  line: number;
  marker: '@revoked' | '@cert-authority' | undefined;
  /** the host field as written: comma-separated patterns, or one hashed `|1|salt|hash` */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** Parse known_hosts text. Comments, blank and malformed lines are skipped (as ssh does). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    else if (fields[0]?.startsWith('@')) return;
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    out.push({ line: i + 1, marker, hosts, keyType, key: Buffer.from(b64, 'base64') });
  });
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** Whether an entry's host field names `address:port` (OpenSSH's match_hostname: any positive match, no negated one). */
export function entryMatches(entry: KnownHostEntry, address: string, port: number): boolean {
  const name = knownHostsName(address, port);
  if (entry.hosts.startsWith('|1|')) {
    const [, , salt, hash] = entry.hosts.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const p of entry.hosts.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * How a host key is checked: against a pinned SHA256 fingerprint (the spec's `ssh.hostKeyFingerprint`), or against a
 * known_hosts file's text.
 */
export type HostKeyPolicy = { fingerprint: string } | { knownHostsFile: string; knownHostsText: string };

/** A host key accepted, or refused with a message saying why and how to pin the right key. */
export type HostKeyVerdict = { ok: true } | { ok: false; message: string };

/** Key types recorded for this host in known_hosts, so the client can ask the server for one it can check. */
export function knownKeyTypes(policy: HostKeyPolicy, address: string, port: number): string[] {
  if ('fingerprint' in policy) return [];
  const types = parseKnownHosts(policy.knownHostsText)
    .filter((e) => e.marker === undefined && entryMatches(e, address, port))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * Judges the key a host offered against the spec's pinned fingerprint or a known_hosts text, as OpenSSH would:
 * accepted, or refused with a message saying why and how to pin the right key.
 */
export function checkHostKey(policy: HostKeyPolicy, address: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const fp = fingerprintSha256(keyBlob);
  const type = keyTypeOf(keyBlob);
  const where = `${address}:${port}`;
  const howToPin = `check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and pin it (ssh.hostKeyFingerprint: ${fp}) or add it to known_hosts`;
  if ('fingerprint' in policy) {
    if (policy.fingerprint.replace(/=+$/, '') === fp) return { ok: true };
    return {
      ok: false,
      message: `host key mismatch for ${where}: it offered a ${type} key ${fp}, but the spec pins ${policy.fingerprint}. The host was reinstalled, or something is intercepting the connection; if the new key is right, ${howToPin}`,
    };
  }
  const entries = parseKnownHosts(policy.knownHostsText).filter((e) => entryMatches(e, address, port));
  const same = (e: KnownHostEntry) => e.key.equals(keyBlob);
  const revoked = entries.find((e) => e.marker === '@revoked' && same(e));
  if (revoked) return { ok: false, message: `host key for ${where} (${type} ${fp}) is marked @revoked in ${policy.knownHostsFile} line ${revoked.line}` };
  if (entries.some((e) => e.marker === undefined && same(e))) return { ok: true };
  const other = entries.find((e) => e.marker === undefined && e.keyType === type);
  if (other) {
    return {
      ok: false,
      message: `HOST KEY MISMATCH for ${where}: it offered a ${type} key ${fp}, but ${policy.knownHostsFile} line ${other.line} holds ${fingerprintSha256(other.key)}. The host was reinstalled, or something is intercepting the connection; if the new key is right, remove that line and ${howToPin}`,
    };
  }
  return {
    ok: false,
    message: `host key for ${where} is not known: it offered a ${type} key ${fp}, and ${policy.knownHostsFile} has no ${type} key for ${knownHostsName(address, port)}. Refusing to connect to an unverified host; ${howToPin} (ssh-keyscan -p ${port} ${address} >> ${policy.knownHostsFile} once checked)`,
  };
}

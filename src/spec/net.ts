// Small IPv4 helpers for the cross-field checks (addresses already validated by the schema).

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) >>> 0;
}

export interface Cidr {
  base: number;
  bits: number;
  /** first and last address as unsigned ints */
  first: number;
  last: number;
}

export function parseCidr(cidr: string): Cidr {
  const [ip, b] = cidr.split('/');
  const bits = Number(b);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const first = (ipToInt(ip!) & mask) >>> 0;
  const last = (first | (~mask >>> 0)) >>> 0;
  return { base: ipToInt(ip!), bits, first, last };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= c.first && n <= c.last;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.first <= y.last && y.first <= x.last;
}

/** The address with the given offset inside a CIDR (offset 1 of 10.96.0.0/12 is 10.96.0.1). */
export function cidrAddress(cidr: string, offset: number): string {
  const n = (parseCidr(cidr).first + offset) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** True when the CIDR's address has host bits set (10.96.0.1/12): kubeadm and Calico want network addresses. */
export function cidrHasHostBits(cidr: string): boolean {
  const c = parseCidr(cidr);
  return c.base !== c.first;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.replace(/^v/, '').split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

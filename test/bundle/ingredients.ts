// Test-bed bundle ingredients shared by the bundle tier and the REST-over-SSH kill test: stand-in .debs for the
// Kubernetes packages Debian does not carry, and docker-save archives renamed to the references a spec needs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tar } from '../../src/bundle/io/tar.js';
import { TarScanner } from '../../src/bundle/io/tar-scan.js';

export function sh(argv: string[], opts: { input?: string | Buffer } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A stand-in .deb for a Kubernetes package Debian does not carry, built with dpkg-deb (xz control, as Debian's). */
export function standInDeb(dir: string, name: string, version: string): void {
  const root = mkdtempSync(join(tmpdir(), 'deb-'));
  mkdirSync(join(root, 'DEBIAN'));
  writeFileSync(join(root, 'DEBIAN/control'), `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: airgap-k8s tests <tests@example.invalid>\nDescription: test stand-in for ${name}\n`);
  mkdirSync(join(root, 'usr/share/airgap-k8s-test'), { recursive: true });
  writeFileSync(join(root, `usr/share/airgap-k8s-test/${name}`), `${name} ${version} (airgap-k8s test stand-in)\n`);
  sh(['dpkg-deb', '--root-owner-group', '--build', root, join(dir, `${name}_${version}_amd64.deb`)]);
  rmSync(root, { recursive: true, force: true });
}

/** The same docker-save archive naming another reference (RepoTags and `repositories` rewritten). */
export function retag(archive: Buffer, ref: string): Buffer {
  const entries: { path: string; content: Buffer; mode: number }[] = [];
  const scan = new TarScanner((e) => e.size, (e, data) => {
    if (e.type === '0' || e.type === '\0') entries.push({ path: e.path, content: data ?? Buffer.alloc(0), mode: 0o644 });
  });
  scan.push(archive);
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = [ref.slice(0, colon), ref.slice(colon + 1)];
  for (const e of entries) {
    if (e.path === 'manifest.json') {
      const m = JSON.parse(e.content.toString()) as { RepoTags: string[] }[];
      m[0]!.RepoTags = [ref];
      e.content = Buffer.from(JSON.stringify(m));
    } else if (e.path === 'repositories') {
      const r = JSON.parse(e.content.toString()) as Record<string, Record<string, string>>;
      const id = Object.values(Object.values(r)[0]!)[0]!;
      e.content = Buffer.from(JSON.stringify({ [repo]: { [tag]: id } }));
    }
  }
  return tar(entries, 946_684_800);
}

// A user who only generates files: `npm install airgap-k8s` into an empty project (test/consumer/setup.ts). What
// the install holds and compiled, what importing the light subpaths loads, the CLI's validate as a CI job runs it,
// the Ansible example, and the errors that name a missing optional dependency.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { compileExamples, HEAVY, loaded, probe, run } from './support.js';

const c = inject('consumer');

/** Every file under dir (no symlinks followed). */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('the light install', () => {
  it(`installs airgap-k8s with zod and js-yaml only, compiles nothing, within the 20 s goal`, () => {
    console.log(`[consumer] npm install <tarball> --prefer-offline: ${Math.round(c.installMs)} ms`);
    const lock = JSON.parse(readFileSync(join(c.light, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const names = Object.keys(lock.packages).filter((p) => p).map((p) => p.replace(/^.*node_modules\//, '')).sort();
    expect(names).toEqual(['airgap-k8s', 'argparse', 'js-yaml', 'zod']);
    const files = walk(join(c.light, 'node_modules'));
    expect(files.filter((f) => f.endsWith('.node') || f.includes('/build/Release/'))).toEqual([]);
    expect(c.installMs).toBeLessThan(20_000);
  });

  it.each(['airgap-k8s', 'airgap-k8s/spec', 'airgap-k8s/secrets', 'airgap-k8s/generators', 'airgap-k8s/plan', 'airgap-k8s/executors', 'airgap-k8s/bundle'])(
    'import %s works without any optional dependency',
    (specifier) => {
      const p = probe(c.root, c.light, specifier);
      expect(p.error).toBeUndefined();
      expect(loaded(p).filter((m) => m.includes('/node_modules/airgap-k8s/')).length).toBeGreaterThan(0);
      expect(loaded(p).filter((m) => HEAVY.test(m))).toEqual([]);
    },
  );

  it('import airgap-k8s/api fails naming the missing package (hono is an optional dependency)', () => {
    const p = probe(c.root, c.light, 'airgap-k8s/api');
    expect(p.error).toMatch(/Cannot find package '@?hono/);
  });
});

describe('the CLI in a CI job (examples/ci-validate)', () => {
  const cli = (args: string[]) => run('npx', ['--no-install', 'airgap-k8s', ...args], c.light);

  it('validate: exit 0 for the example spec, 2 with one "path: message" line per issue for a broken one', () => {
    compileExamples(c.root, c.light, ['ci-validate']);
    const ok = cli(['validate', 'examples/ci-validate/cluster.yaml']);
    // warnings (Debian's containerd is below the support matrix) do not fail it
    expect(ok.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([]);
    expect(ok.code).toBe(0);
    const bad = cli(['validate', join(c.root, 'fixtures/invalid-vip-outside-subnet.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toContain('spec.controlPlane.endpoint.host');
  });

  it('the JSON Schema the spec names ships in the package, equal to the repository\'s', () => {
    const shipped = join(c.light, 'node_modules/airgap-k8s/schema/cluster.schema.json');
    expect(readFileSync(shipped, 'utf8')).toBe(readFileSync(join(c.root, 'schema/cluster.schema.json'), 'utf8'));
    const r = run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('airgap-k8s/schema/cluster.schema.json'))"], c.light);
    expect(r.stdout.trim()).toBe(`file://${shipped}`);
  });

  it('serve without its optional dependencies: exit 1 and one line naming them and the npm command', () => {
    const r = run('npx', ['--no-install', 'airgap-k8s', 'serve', '--data-dir', join(c.light, 'data'), '--listen', '127.0.0.1:0'], c.light, {}, 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^airgap-k8s serve: the REST service \(airgap-k8s serve, airgap-k8s\/api\) needs the optional dependency @hono\/node-server, not installed; install them beside airgap-k8s: npm install 'better-sqlite3@\^12\.11\.1' 'hono@\^4\.13\.19' '@hono\/node-server@\^2\.1\.9' '@hono\/zod-openapi@\^1\.6\.3'\n$/);
  });

  it('the SSH executor without ssh2: a connection error that names it and is not retried', () => {
    const script = [
      "import { SshExecutor, ExecConnectionError } from 'airgap-k8s/executors';",
      "const e = new SshExecutor({ host: 'h1', address: '127.0.0.1', user: 'root', privateKeyPath: '/nonexistent', hostKey: { fingerprint: 'SHA256:' + 'A'.repeat(43) } });",
      'const err = await e.run(["true"]).then(() => null, (x) => x);',
      'console.log(JSON.stringify({ connection: err instanceof ExecConnectionError, retryable: err?.retryable, message: err?.message }));',
    ].join('\n');
    const r = run(process.execPath, ['--input-type=module', '-e', script], c.light);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { connection: boolean; retryable: boolean; message: string };
    expect(out).toMatchObject({ connection: true, retryable: false });
    expect(out.message).toContain("the SSH executor needs the optional dependency ssh2, not installed; install it beside airgap-k8s: npm install 'ssh2@^1.17.0'");
  });
});

describe('examples/ansible-lb: keepalived, haproxy and check_apiserver.sh for an Ansible inventory', () => {
  it('type-checks against the installed package and writes files/<host>/<path> with the rendered modes', () => {
    const tsc = compileExamples(c.root, c.light, ['ansible-lb']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    const out = join(c.light, 'ansible-out');
    const r = run(process.execPath, ['build/ansible-lb/render.js', 'examples/ansible-lb/inventory.ini', out], c.light);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const written = walk(join(out, 'files')).map((f) => f.slice(out.length + 1)).sort();
    // the two load-balancer hosts of the inventory, not master3
    expect(written).toEqual([
      'files/master1/etc/haproxy/haproxy.cfg',
      'files/master1/etc/keepalived/check_apiserver.sh',
      'files/master1/etc/keepalived/keepalived.conf',
      'files/master2/etc/haproxy/haproxy.cfg',
      'files/master2/etc/keepalived/check_apiserver.sh',
      'files/master2/etc/keepalived/keepalived.conf',
    ]);
    const mode = (p: string) => (statSync(join(out, p)).mode & 0o777).toString(8);
    expect(mode('files/master1/etc/keepalived/check_apiserver.sh')).toMatch(/7[0-7][0-7]/);
    const kc = readFileSync(join(out, 'files/master1/etc/keepalived/keepalived.conf'), 'utf8');
    expect(kc).toContain('55.192.0.1');
    expect(kc).toContain('interface ens0');
    const hc = readFileSync(join(out, 'files/master2/etc/haproxy/haproxy.cfg'), 'utf8');
    for (const backend of ['55.192.0.125:6443', '55.192.0.7:6443', '55.192.0.159:6443']) expect(hc).toContain(backend);
    expect(existsSync(join(out, 'lb.secrets.yaml'))).toBe(true);
    // a second run renders byte-identical files (same secrets file, pure generators)
    const before = written.map((f) => readFileSync(join(out, f), 'utf8'));
    expect(run(process.execPath, ['build/ansible-lb/render.js', 'examples/ansible-lb/inventory.ini', out], c.light).code).toBe(0);
    expect(written.map((f) => readFileSync(join(out, f), 'utf8'))).toEqual(before);
  });
});

// npm run bench (Ansible part, issue 13): the same work done by Ansible and by us on the SAME test-bed host
// containers in one run, printed as times and ours/ansible (below 1: ours is faster). Ansible is what kubespray and
// kubeasz users run today.
//   1. `true` on 1 and 10 hosts: `ansible -m command -a true` against the SSH executor running `true`. Cold rows
//      count connection set-up on both sides (ours: a new SshExecutor per host, as an install makes them; Ansible:
//      no ControlPersist master yet); warm rows reuse them (ours: open connections; Ansible: live masters).
//   2. a 100 MiB file to 3 hosts: `ansible -m copy` (sha1 checked on the host) against the bundle's
//      uploadFileResumable (sha256 worked out on the host as the bytes arrive, compared with the local sha256, which
//      is counted too: one local pass run while the bytes travel).
//   3. 20 templated files + one service restart on 3 hosts: a playbook of 20 `template` tasks notifying a
//      `systemd` handler against a plan of 20 write-file steps (each probed first, as an install runs them) and a
//      restart step run on change (onChangeOf), rendered in TypeScript; the files come out byte-identical.
//      Then both again with nothing to change (20 checks per host, no restart).
// Ansible: ansible-core pinned in scripts/setup-ansible.sh (a cached venv), tuned as kubespray ships it (pipelining,
// ControlMaster/ControlPersist, forks 10, no fact gathering, the interpreter named) but with strict host key
// checking against the test bed's known_hosts. Ours runs inside this process: a CLI would add node's start-up (the
// `cli validate start-up` row); Ansible's Python start-up is printed on its own line.
// Needs the test bed (`npm run testbed:setup`, root) and PyPI once for the venv; skipped with a line without them.
// A few minutes on an idle machine (the playbooks are most of it); AIRGAP_K8S_BENCH_ANSIBLE=0 skips it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uploadFileResumable } from '../src/bundle/io/distribute.js';
import type { Executor } from '../src/executors/executor.js';
import { SshExecutor } from '../src/executors/ssh/ssh.js';
import type { Plan, Step } from '../src/plan/types.js';
import { localSha256 } from '../src/runner/actions.js';
import { MemoryJournal } from '../src/runner/journal.js';
import { runPlan } from '../src/runner/runner.js';
import { createTestbed, runLocal, type Testbed, type TestbedHost } from '../test/testbed/testbed.js';
import { sshSkipReason } from './ssh.js';
import { goal } from './goals.js';

const ROOT = join(import.meta.dirname, '..');
const MiB = 1024 * 1024;
const UNIT = 'bench-app.service';
const CONF_DIR = '/etc/bench-app';
const TEMPLATES = 20;
const BASE_PORT = 8000;

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(0).padStart(6)} ms`;
const line = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);

function row(name: string, ours: number[], ansible: number[]): void {
  const o = p50(ours);
  const a = p50(ansible);
  line(name, `ours ${ms(o)}   ansible ${ms(a)}   ours/ansible ${(o / a).toFixed(2)} (x${(a / o).toFixed(1)} faster)   p50 of ${ours.length}`);
  goal(`vs Ansible, x faster: ${name.trim()}`, a / o, 3, 'min', 'x');
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The text of conf-NN.conf for a host: what templates/conf-NN.conf.j2 renders to (bench checks they agree). */
function renderConf(n: number, host: TestbedHost, peers: readonly TestbedHost[]): string {
  return [
    `# bench-app part ${n} of ${TEMPLATES} on ${host.name}, generated`,
    `listen = ${host.address}:${BASE_PORT + n}`,
    `name = bench-app-${String(n).padStart(2, '0')}`,
    `workers = ${(n % 4) + 1}`,
    `peers = ${peers.map((p) => `${p.address}:${BASE_PORT + n}`).join(',')}`,
    '',
  ].join('\n');
}

const TEMPLATE = [
  '# {{ app_name }} part {{ n }} of {{ parts }} on {{ inventory_hostname }}, generated',
  'listen = {{ ansible_host }}:{{ base_port + n }}',
  "name = {{ app_name }}-{{ '%02d' | format(n) }}",
  'workers = {{ (n % 4) + 1 }}',
  "peers = {{ groups['three'] | map('extract', hostvars, 'ansible_host') | map('regex_replace', '$', ':' ~ (base_port + n)) | join(',') }}",
  '',
].join('\n');

const confPath = (n: number) => `${CONF_DIR}/conf-${String(n).padStart(2, '0')}.conf`;

/** The playbook: 20 template tasks, each notifying the restart handler. */
function playbook(): string {
  const tasks = Array.from({ length: TEMPLATES }, (_, i) => {
    const n = i + 1;
    return [
      `    - name: conf ${n}`,
      '      ansible.builtin.template:',
      '        src: templates/conf.j2',
      `        dest: ${confPath(n)}`,
      "        mode: '0644'",
      '      vars:',
      `        n: ${n}`,
      '      notify: restart bench-app',
    ].join('\n');
  });
  return [
    '- hosts: three',
    '  gather_facts: false',
    '  vars:',
    '    app_name: bench-app',
    `    parts: ${TEMPLATES}`,
    `    base_port: ${BASE_PORT}`,
    '  tasks:',
    ...tasks,
    '  handlers:',
    '    - name: restart bench-app',
    '      ansible.builtin.systemd:',
    `        name: ${UNIT}`,
    '        state: restarted',
    '',
  ].join('\n');
}

/** Our side of (3): the same 20 files per host as write-file steps (probed), and the restart as a handler. */
function confPlan(hosts: readonly TestbedHost[]): { plan: Plan; files: Map<string, string> } {
  const files = new Map<string, string>();
  const steps: Step[] = [];
  const retry = { attempts: 1, backoffMs: 1000 };
  for (const h of hosts) {
    const writes: string[] = [];
    for (let n = 1; n <= TEMPLATES; n++) {
      const path = confPath(n);
      const source = `hosts/${h.name}${path}`;
      const content = renderConf(n, h, hosts);
      const sha256 = createHash('sha256').update(content).digest('hex');
      files.set(source, content);
      const id = `prepare-os/${h.name}/bench-app/conf-${n}`;
      writes.push(id);
      steps.push({ id, phase: 'prepare-os', host: h.name, description: `write ${path}`, timeoutMs: 60_000, retry, probe: { kind: 'file', path, sha256, mode: 0o644 }, kind: 'write-file', source, path, sha256, mode: 0o644, secret: false });
    }
    steps.push({ id: `prepare-os/${h.name}/bench-app/restart`, phase: 'prepare-os', host: h.name, description: `restart ${UNIT}`, timeoutMs: 60_000, retry, onChangeOf: writes, kind: 'systemd', unit: UNIT, action: 'restart' });
  }
  return { plan: { cluster: 'bench-ansible', phases: [{ name: 'prepare-os', serial: false, steps }] }, files };
}

export async function benchAnsible(opts: { runs?: number } = {}): Promise<void> {
  const runs = opts.runs ?? 5;
  if (process.env.AIRGAP_K8S_BENCH_ANSIBLE === '0') return line('ansible side by side', 'skipped (AIRGAP_K8S_BENCH_ANSIBLE=0)');
  const skip = await sshSkipReason();
  if (skip) return line('ansible side by side', `SKIPPED: ${skip}`);
  const venv = await runLocal(['bash', join(ROOT, 'scripts/setup-ansible.sh')], { timeoutMs: 600_000 });
  if (venv.exitCode !== 0) return line('ansible side by side', `SKIPPED: scripts/setup-ansible.sh failed: ${venv.stderr.trim().split('\n').slice(-2).join(' ')}`);
  const bin = venv.stdout.trim().split('\n').pop()!;

  const work = mkdtempSync(join(tmpdir(), 'bench-ansible-'));
  let tb: Testbed | undefined;
  const made: Executor[] = [];
  try {
    tb = await createTestbed({ name: 'bench-ansible', hosts: 10 });
    const ten = tb.hosts;
    const three = ten.slice(0, 3);

    // --- Ansible's files: config, inventory, template, playbook ---
    writeFileSync(join(work, 'ansible.cfg'), [
      '[defaults]',
      'forks = 10',
      'host_key_checking = True',
      'gathering = explicit',
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      'deprecation_warnings = False',
      'remote_user = root',
      `private_key_file = ${tb.privateKeyPath}`,
      '[ssh_connection]',
      'pipelining = True',
      // kubespray's ssh_args minus ConnectionAttempts and its known_hosts=/dev/null; no -C (the copy's payload is random)
      `ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${tb.knownHostsPath} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes`,
      'control_path = %(directory)s/%%C',
      '',
    ].join('\n'));
    const hostLine = (h: TestbedHost) => `${h.name} ansible_host=${h.address}`;
    writeFileSync(join(work, 'inventory.ini'), [
      '[one]', hostLine(ten[0]!), '[three]', ...three.map(hostLine), '[ten]', ...ten.map(hostLine), '',
    ].join('\n'));
    mkdirSync(join(work, 'templates'));
    writeFileSync(join(work, 'templates/conf.j2'), TEMPLATE);
    writeFileSync(join(work, 'playbook.yml'), playbook());
    let masters = 0;
    /** Ansible with ControlPersist masters in `controlDir` (a new directory: none running yet). */
    const ansible = async (controlDir: string, argv: string[]) => {
      const r = await runLocal([join(bin, argv[0]!), '-i', join(work, 'inventory.ini'), ...argv.slice(1)], {
        timeoutMs: 600_000,
        env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: join(work, 'home'), ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir, ANSIBLE_NOCOLOR: '1' },
      });
      if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: exit ${r.exitCode}: ${(r.stdout + r.stderr).trim().split('\n').slice(-6).join('\n')}`);
      return r.stdout;
    };
    const freshControlDir = () => {
      const d = join(work, `cp${masters++}`);
      mkdirSync(d);
      return d;
    };
    /** Ends the ssh masters an Ansible run left (ssh -O exit on each socket). */
    const closeMasters = async (dir: string) => {
      for (const s of readdirSync(dir)) await runLocal(['ssh', '-F', '/dev/null', '-o', `ControlPath=${join(dir, s)}`, '-O', 'exit', 'bench'], { timeoutMs: 10_000 });
    };
    const coldAnsible = async (argv: string[]) => {
      const dir = freshControlDir();
      try {
        return await time(() => ansible(dir, argv));
      } finally {
        await closeMasters(dir);
      }
    };
    const executor = (h: TestbedHost) => {
      const e = new SshExecutor({ host: h.name, address: h.address, user: 'root', privateKeyPath: tb!.privateKeyPath, hostKey: { fingerprint: h.hostKeyFingerprint }, connectTimeoutMs: 20_000 });
      made.push(e);
      return e;
    };
    /** New executors for these hosts (each connects on its first command, as an install's do), closed after fn. */
    const fresh = async (hosts: readonly TestbedHost[], fn: (execs: SshExecutor[]) => Promise<unknown>) => {
      const execs = hosts.map(executor);
      try {
        await fn(execs);
      } finally {
        await Promise.all(execs.map((e) => e.close()));
      }
    };

    const version = (await ansible(freshControlDir(), ['ansible', '--version'])).split('\n')[0]!.trim();
    line('ansible side by side', `${version}, forks 10, pipelining, ControlPersist 60s, strict host keys; ours in-process (numbers are noisy: shared cores)`);
    const startup: number[] = [];
    for (let i = 0; i < 3; i++) startup.push(await time(() => ansible(freshControlDir(), ['ansible', 'ten', '--list-hosts'])));
    line('ansible start-up alone (--list-hosts)', `${ms(p50(startup))}   (no host contacted: Python, config, inventory)`);

    // --- 1. `true` on 1 and 10 hosts ---
    for (const [group, hosts] of [['one', ten.slice(0, 1)], ['ten', ten]] as const) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) {
        ours.push(await time(() => fresh(hosts, (execs) => Promise.all(execs.map((e) => e.run(['true']))))));
        theirs.push(await coldAnsible(['ansible', group, '-m', 'command', '-a', 'true']));
      }
      row(`\`true\` on ${hosts.length} host${hosts.length > 1 ? 's' : ''}, connect counted`, ours, theirs);
    }
    {
      const execs = ten.map(executor);
      const dir = freshControlDir();
      try {
        for (const [group, n] of [['one', 1], ['ten', 10]] as const) {
          await Promise.all(execs.slice(0, n).map((e) => e.run(['true']))); // connect
          await ansible(dir, ['ansible', group, '-m', 'command', '-a', 'true']); // masters up
          const ours: number[] = [];
          const theirs: number[] = [];
          for (let i = 0; i < runs; i++) {
            ours.push(await time(() => Promise.all(execs.slice(0, n).map((e) => e.run(['true'])))));
            theirs.push(await time(() => ansible(dir, ['ansible', group, '-m', 'command', '-a', 'true'])));
          }
          row(`\`true\` on ${n} host${n > 1 ? 's' : ''}, connections open`, ours, theirs);
        }
      } finally {
        await closeMasters(dir);
        await Promise.all(execs.map((e) => e.close()));
      }
    }

    // --- 2. a 100 MiB file to 3 hosts ---
    {
      const size = 100 * MiB;
      const file = join(work, 'payload.bin');
      writeFileSync(file, '');
      for (let left = size; left > 0; left -= 4 * MiB) writeFileSync(file, randomBytes(Math.min(left, 4 * MiB)), { flag: 'a' });
      const dest = '/var/tmp/payload.bin';
      const clean = () => Promise.all(three.map((h) => tb!.exec(h, ['rm', '-f', dest, `${dest}.partial`])));
      const ours: number[] = [];
      const theirs: number[] = [];
      const copyRuns = Math.max(1, Math.min(runs, 3));
      for (let i = 0; i < copyRuns; i++) {
        await clean();
        ours.push(await time(() => fresh(three, async (execs) => {
          // one local pass, while the bytes travel; each host's file goes into place once its hash and ours agree
          const sha256 = localSha256(file);
          await Promise.all(execs.map((e) => uploadFileResumable(e, file, dest, { size, sha256 }, {}, { progressPollMs: 0 })));
        })));
        await clean();
        theirs.push(await coldAnsible(['ansible', 'three', '-m', 'copy', '-a', `src=${file} dest=${dest} mode=0644`]));
      }
      const onHost = (await tb.exec(three[2]!, ['sha256sum', dest])).stdout.split(' ')[0];
      if (onHost !== (await localSha256(file))) throw new Error(`copy: ${three[2]!.name} holds ${onHost}, not the file`);
      row('100 MiB file to 3 hosts, verified', ours, theirs);
      // where our time goes, once: the local hash alone (it runs while the bytes travel) and the bytes alone (the
      // same executors, `cat >`, no check); the rest of our p50 is the connections and the check on the hosts
      // (hashed as the bytes arrive: little beyond the transfer) and what the local hash did not hide
      await clean();
      const local = await time(() => localSha256(file));
      let stream = 0;
      await fresh(three, async (execs) => {
        await Promise.all(execs.map((e) => e.run(['true'])));
        stream = await time(() => Promise.all(execs.map((e) => e.run(['sh', '-c', 'cat > "$1"', 'raw', dest], { stdinFile: file }))));
      });
      line('  ours, split up (one run)', `local sha256 alone ${ms(local)} (overlapped)   bytes alone to 3 hosts ${ms(stream)}   the rest ${ms(p50(ours) - stream)}`);
      await clean();
      rmSync(file);
    }

    // --- 3. 20 templated files + a restart on 3 hosts ---
    {
      const unit = ['[Unit]', 'Description=airgap-k8s bench stand-in service', '[Service]', 'ExecStart=/bin/sleep infinity', '[Install]', 'WantedBy=multi-user.target', ''].join('\n');
      await Promise.all(three.map(async (h) => {
        await tb!.writeFile(h, `/etc/systemd/system/${UNIT}`, unit);
        await tb!.exec(h, ['systemctl', 'daemon-reload']);
        await tb!.exec(h, ['systemctl', 'enable', '--now', UNIT]);
      }));
      const reset = () => Promise.all(three.map((h) => tb!.exec(h, ['sh', '-c', 'rm -rf -- "$1" && mkdir -p -- "$1"', 'reset', CONF_DIR])));
      const invocations = () => Promise.all(three.map(async (h) => (await tb!.exec(h, ['systemctl', 'show', '-p', 'InvocationID', '--value', UNIT])).stdout.trim()));
      const digests = async () => (await Promise.all(three.map(async (h) => (await tb!.exec(h, ['sh', '-c', 'cd "$1" && sha256sum -- *', 'digests', CONF_DIR])).stdout))).join('');
      /** one side's run, checked: every restart happened (or, with nothing to change, none did) */
      const checked = async (side: string, restart: boolean, fn: () => Promise<number>) => {
        const before = await invocations();
        const t = await fn();
        const after = await invocations();
        if (after.some((id, i) => (id !== before[i]) !== restart)) throw new Error(`${side}: ${UNIT} was${restart ? ' not' : ''} restarted on every host (${before} -> ${after})`);
        return t;
      };
      const runOurs = () =>
        time(async () => {
          const { plan, files } = confPlan(three);
          await fresh(three, async (execs) => {
            const summary = await runPlan({
              plan,
              files,
              executor: (name) => execs[three.findIndex((h) => h.name === name)]!,
              clusterHost: three[0]!.name,
              journal: new MemoryJournal(),
            });
            if (!summary.ok) throw new Error(`our plan failed: ${JSON.stringify(summary.failures.slice(0, 3))}`);
          });
        });
      const changed = { ours: [] as number[], theirs: [] as number[] };
      const same = { ours: [] as number[], theirs: [] as number[] };
      const playRuns = Math.max(1, Math.min(runs, 3));
      let ansibleFiles = '';
      let ourFiles = '';
      for (let i = 0; i < playRuns; i++) {
        await reset();
        changed.ours.push(await checked('ours', true, runOurs));
        same.ours.push(await checked('ours again', false, runOurs));
        ourFiles = await digests();
        await reset();
        changed.theirs.push(await checked('ansible-playbook', true, () => coldAnsible(['ansible-playbook', join(work, 'playbook.yml')])));
        same.theirs.push(await checked('ansible-playbook again', false, () => coldAnsible(['ansible-playbook', join(work, 'playbook.yml')])));
        ansibleFiles = await digests();
      }
      if (ourFiles !== ansibleFiles) throw new Error(`the 20 files differ between the two sides:\nours:\n${ourFiles}\nansible:\n${ansibleFiles}`);
      row(`${TEMPLATES} templated files + restart, 3 hosts`, changed.ours, changed.theirs);
      row('the same again, nothing to change', same.ours, same.theirs);
    }
  } catch (e) {
    line('ansible side by side', `FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await Promise.all(made.map((e) => e.close().catch(() => undefined)));
    await tb?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

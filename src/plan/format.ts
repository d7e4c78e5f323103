// Plans as text for people (`airgap-k8s plan`); --json prints the Plan object itself.
import type { Plan, Step } from './types.js';

function detail(s: Step): string {
  switch (s.kind) {
    case 'write-file':
      return `${s.path} mode ${s.mode.toString(8).padStart(4, '0')} sha256 ${s.sha256.slice(0, 12)}${s.secret ? ' secret' : ''}`;
    case 'upload':
      return `${s.localPath} -> ${s.remotePath}`;
    case 'verify-bundle':
      return 'completeness, versions, image references and sha256 of every file against the spec and bundle.yaml';
    case 'push-images':
      return `${s.images.length} images from ${s.archives} to ${s.registry}`;
    case 'install-packages':
      return `${s.manager} ${s.packages.map((p) => (p.version ? `${p.name}-${p.version}` : p.name)).join(' ')} from ${s.dir}`;
    case 'import-images':
      return `${s.images.length} images from ${s.archives.join(' ')}`;
    case 'systemd':
      return s.action === 'daemon-reload' ? s.action : `${s.action} ${s.unit}`;
    case 'exec':
    case 'wait-for':
    {
      // an inline script prints as <script>, whatever wraps it (flock ... sh -c ...)
      const at = s.argv.findIndex((a, i) => a === 'sh' && s.argv[i + 1] === '-c');
      return at < 0 ? s.argv.join(' ') : [...s.argv.slice(0, at), 'sh -c <script>', ...s.argv.slice(at + 3)].join(' ');
    }
    case 'fetch-file':
      return `${s.path} -> ${s.to} (this machine, 0600, sha256 checked)`;
    case 'push-file':
      return `${s.from} -> ${s.path} mode ${s.mode.toString(8).padStart(4, '0')} sha256 ${s.sha256.slice(0, 12)}`;
    case 'kube-apply':
      return `${s.source} ${s.sha256 ? `sha256 ${s.sha256.slice(0, 12)}` : `made from the bundle's ${s.needs?.join(', ')}: not here`}`;
    case 'helm-install':
      return `${s.release} ${s.chart} -n ${s.namespace} -f ${s.values}`;
  }
}

/** The plan as text for people: the overlay if any, then each phase with its steps per host. */
export function formatPlan(plan: Plan): string {
  const total = plan.phases.reduce((n, p) => n + p.steps.length, 0);
  const out = [`Plan for Cluster "${plan.cluster}": ${plan.phases.length} phases, ${total} steps`];
  if (plan.overlay) {
    out.push(`overlay ${plan.overlay.name}: ${plan.overlay.summary}`);
    for (const o of plan.overlay.settings) out.push(`  ${o.target}: ${o.setting} (${o.why})`);
  }
  plan.phases.forEach((p, i) => {
    const hosts = new Set(p.steps.map((s) => s.host ?? 'cluster'));
    out.push('', `[${i + 1}/${plan.phases.length}] ${p.name} (${p.ordered ? 'one step at a time, in order' : p.serial ? 'one host at a time' : 'hosts in parallel'}; ${hosts.size} target${hosts.size === 1 ? '' : 's'}, ${p.steps.length} steps)`);
    for (const s of p.steps) {
      const when = `${s.onChangeOf ? ' [on change]' : s.probe ? '' : ' [always]'}${s.destructive ? ' [DESTRUCTIVE]' : ''}`;
      out.push(`  ${(s.host ?? 'cluster').padEnd(10)} ${s.kind.padEnd(16)} ${s.description}${when}`);
      out.push(`  ${''.padEnd(10)} ${''.padEnd(16)} ${detail(s)}`);
    }
  });
  return `${out.join('\n')}\n`;
}

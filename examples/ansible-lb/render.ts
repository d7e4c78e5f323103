// Example 1: render keepalived.conf, haproxy.cfg and check_apiserver.sh for the hosts of an existing Ansible
// inventory, and write them where Ansible's `copy` (playbook.yml, through the filetree lookup) finds them:
// files/<inventory_hostname>/<absolute path on the host>, with the file's mode.
//
//   node render.js [INVENTORY] [OUT_DIR]        default: inventory.ini next to this file, OUT_DIR = its directory
//
// Only airgap-k8s/spec, /secrets and /generators are imported: no native module, no HTTP stack. The VRRP password
// and the cluster CA (which the render inputs carry) are kept in lb.secrets.yaml (0600), made on the first run.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveView, formatIssues, parseSpec, type ClusterInput } from 'airgap-k8s/spec';
import { haproxyGenerator, keepalivedGenerator, renderView, type HostFile } from 'airgap-k8s/generators';
import { inputsFromSecrets, loadOrCreateSecrets } from 'airgap-k8s/secrets';

/** One host line of an INI inventory: `name key=value ...`, and the groups it is listed in. */
export interface InventoryHost {
  name: string;
  vars: Record<string, string>;
  groups: string[];
}

/** The hosts of an Ansible INI inventory (sections of hosts; `:vars` and `:children` sections are skipped). */
export function parseInventory(text: string): InventoryHost[] {
  const hosts = new Map<string, InventoryHost>();
  let group: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      group = section[1]!.includes(':') ? undefined : section[1]!;
      continue;
    }
    if (!group) continue;
    const [name, ...pairs] = line.split(/\s+/);
    const h = hosts.get(name!) ?? { name: name!, vars: {}, groups: [] };
    for (const p of pairs) {
      const i = p.indexOf('=');
      if (i > 0) h.vars[p.slice(0, i)] = p.slice(i + 1);
    }
    h.groups.push(group);
    hosts.set(name!, h);
  }
  return [...hosts.values()];
}

/** The spec for the inventory's control planes; the VIP and networks are this site's (edit them here). */
export function specFor(hosts: readonly InventoryHost[]): ClusterInput {
  return {
    apiVersion: 'airgap-k8s/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'ansible-lb' },
    spec: {
      kubernetesVersion: 'v1.34.3',
      hosts: hosts
        .filter((h) => h.groups.includes('control_plane'))
        .map((h) => ({
          name: h.name,
          address: h.vars.ansible_host ?? h.name,
          roles: h.groups.includes('load_balancer') ? ['control-plane', 'load-balancer'] : ['control-plane'],
          ...(h.vars.lb_interface ? { interface: h.vars.lb_interface } : {}),
          os: 'rhel8',
        })),
      controlPlane: {
        endpoint: { host: '55.192.0.1', port: 6553 },
        loadBalancer: { mode: 'keepalived-haproxy', virtualRouterId: 51, authPassRef: 'vrrp' },
      },
      network: { podSubnet: '192.168.0.0/16', serviceSubnet: '10.96.0.0/12', hostSubnet: '55.192.0.0/24' },
    },
  };
}

/** Renders the load balancer's files and writes them under outDir/files/<host>/...; returns what it wrote. */
export function renderForAnsible(inventoryText: string, outDir: string): HostFile[] {
  const parsed = parseSpec(specFor(parseInventory(inventoryText)));
  if (!parsed.ok) throw new Error(`the inventory makes no valid spec:\n${formatIssues(parsed.issues)}`);
  mkdirSync(outDir, { recursive: true });
  const secrets = loadOrCreateSecrets(join(outDir, 'lb.secrets.yaml'), parsed.spec);
  if (!secrets.ok) throw new Error(formatIssues(secrets.issues));
  const files = renderView(deriveView(parsed.spec), inputsFromSecrets(secrets.secrets), [haproxyGenerator, keepalivedGenerator]);
  const hostFiles = files.filter((f): f is HostFile => f.kind === 'host');
  for (const f of hostFiles) {
    const local = join(outDir, 'files', f.host, f.path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, f.content, { mode: f.mode });
    chmodSync(local, f.mode); // the umask must not loosen or tighten what the host gets
  }
  return hostFiles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const inventory = process.argv[2] ?? join(here, 'inventory.ini');
  const out = process.argv[3] ?? here;
  for (const f of renderForAnsible(readFileSync(inventory, 'utf8'), out)) {
    console.log(`files/${f.host}${f.path} (${f.mode.toString(8).padStart(4, '0')})`);
  }
}

// Node objects for a fixture's hosts, registered the way a kubelet would look to the scheduler: the object (labels,
// the taints our kubeadm config registers the host with), then its status (capacity, allocatable, Ready) through the
// status subresource. No kubelet runs: the control plane must run without the node-lifecycle controller (the
// default of startControlPlane), or these Ready nodes would be tainted unreachable; we lift the not-ready taint that
// admission puts on a new Node ourselves, as that controller would for a Ready one.
import yaml from 'js-yaml';
import type { ClusterView, HostView } from '../../src/spec/derive.js';
import { nodeTaints } from '../../src/generators/kubeadm/kubeadm.js';
import { GPU_NODE_LABEL, GPU_RESOURCE } from '../../src/generators/manifests/models/common.js';
import type { ControlPlane } from './controlplane.js';

/** kubeadm's default taint on a control plane registered without `taints` in its nodeRegistration. */
const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

export const FAKE_NODE_CPU = '64';
export const FAKE_NODE_MEMORY = '512Gi';
export const FAKE_NODE_PODS = '110';

export function nodeObject(h: HostView): Record<string, unknown> {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': h.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
  if (h.isControlPlane) labels['node-role.kubernetes.io/control-plane'] = '';
  // What the GPU Operator's feature discovery labels a GPU host with; our GPU workloads select on it.
  if (h.isGpu) labels[GPU_NODE_LABEL] = 'true';
  const taints = nodeTaints(h) ?? (h.isControlPlane ? [CONTROL_PLANE_TAINT] : []);
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: h.name, labels }, spec: { taints } };
}

export function nodeStatus(h: HostView): Record<string, unknown> {
  const resources: Record<string, string> = { cpu: FAKE_NODE_CPU, memory: FAKE_NODE_MEMORY, pods: FAKE_NODE_PODS, 'ephemeral-storage': '1Ti' };
  if (h.isGpu) resources[GPU_RESOURCE] = String(h.spec.gpu!.count);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: h.address },
        { type: 'Hostname', address: h.name },
      ],
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node (no kubelet; test/k8s/fake-nodes.ts)', lastHeartbeatTime: now, lastTransitionTime: now },
        ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
          type,
          status: 'False',
          reason: `KubeletHasNo${type}`,
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        })),
      ],
    },
  };
}

/** Creates a Node for every host (load-balancer-only hosts are not Kubernetes nodes) and makes it Ready. */
export async function registerNodes(cp: ControlPlane, view: ClusterView): Promise<HostView[]> {
  const hosts = view.hosts.filter((h) => h.isControlPlane || h.isWorker);
  const created = await cp.kubectl(['create', '-f', '-'], { input: hosts.map((h) => yaml.dump(nodeObject(h))).join('---\n') });
  if (created.code !== 0) throw new Error(`creating Nodes: ${created.stderr}`);
  for (const h of hosts) {
    const r = await cp.kubectl(['patch', 'node', h.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(nodeStatus(h))]);
    if (r.code !== 0) throw new Error(`patching the status of Node ${h.name}: ${r.stderr}`);
  }
  // The TaintNodesByCondition admission plugin gives every new Node node.kubernetes.io/not-ready:NoSchedule; the
  // node-lifecycle controller would lift it once the Node reports Ready. That controller is off (no kubelet), so we
  // lift it as it would.
  const untaint = await cp.kubectl(['taint', 'nodes', ...hosts.map((h) => h.name), 'node.kubernetes.io/not-ready:NoSchedule-']);
  if (untaint.code !== 0) throw new Error(`lifting the not-ready taint: ${untaint.stderr}`);
  return hosts;
}

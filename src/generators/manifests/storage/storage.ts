// A default StorageClass for a bare kubeadm cluster: local-path-provisioner (rancher.io/local-path). Without one,
// every PersistentVolumeClaim the addons make (Ollama's model store, Prometheus with storage, Dify's data) stays
// Pending forever — the runbook never notices because it installs nothing with a claim. Written here from the
// provisioner's documented configuration (config.json nodePathMap, setup/teardown scripts, helper pod template).
//   cluster/15-local-path-storage.yaml
// Volumes are directories under spec.addons.storage.localPath.path on the node that runs the pod
// (WaitForFirstConsumer), so a GPU workload's volume lands on its GPU host. ReadWriteOnce only.
import type { ClusterView } from '../../../spec/derive.js';
import { resolveImage } from '../../../images.js';
import { yamlFile } from '../../render/yaml.js';
import { clusterFile, type GeneratedFile } from '../../types.js';
import { applyUnit, type AddonModule } from '../addon.js';
import { CALICO_UNIT } from '../calico/calico.js';

// v0.0.30, not the newer v0.0.31: the offline supply builds the image from source, and the Go module proxy serves
// github.com/rancher/local-path-provisioner up to v0.0.30 only (v0.0.31: 403). Same config.json/helper-pod contract.
export const LOCAL_PATH_IMAGE = 'docker.io/rancher/local-path-provisioner:v0.0.30';
// 1.35.0: the busybox Debian 12 ships (busybox-static), from which the supply builds this image; the helper pod only
// runs sh, mkdir, rm and chmod.
export const LOCAL_PATH_HELPER_IMAGE = 'docker.io/library/busybox:1.35.0';
export const STORAGE_CLASS = 'local-path';
const NS = 'local-path-storage';
const SA = 'local-path-provisioner-service-account';
const LABELS = { 'app.kubernetes.io/name': 'local-path-provisioner', 'app.kubernetes.io/managed-by': 'airgap-k8s' };

function enabled(view: ClusterView): boolean {
  return view.cluster.spec.addons.storage.localPath.enabled;
}

export function storageDocs(view: ClusterView): object[] {
  const lp = view.cluster.spec.addons.storage.localPath;
  const image = resolveImage(LOCAL_PATH_IMAGE, view.registry);
  const helper = resolveImage(LOCAL_PATH_HELPER_IMAGE, view.registry);
  const config = { nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [lp.path] }] };
  const helperPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helper-pod' },
    spec: {
      priorityClassName: 'system-node-critical',
      // volumes are made on whichever node runs the workload, GPU hosts (tainted) included
      tolerations: [{ operator: 'Exists' }],
      containers: [{ name: 'helper-pod', image: helper, imagePullPolicy: 'IfNotPresent' }],
    },
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: NS,
        // helper pods mount the host directory: hostPath needs the privileged level
        labels: { ...LABELS, 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS, labels: LABELS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'local-path-provisioner-role', namespace: NS, labels: LABELS },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'local-path-provisioner-role', labels: LABELS },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'local-path-provisioner-bind', namespace: NS, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'local-path-provisioner-role' },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'local-path-provisioner-bind', labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'local-path-provisioner-role' },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'local-path-config', namespace: NS, labels: LABELS },
      data: {
        'config.json': `${JSON.stringify(config, null, 2)}\n`,
        setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
        'helperPod.yaml': `${JSON.stringify(helperPod, null, 2)}\n`,
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'local-path-provisioner', namespace: NS, labels: LABELS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'local-path-provisioner' } },
        template: {
          metadata: { labels: LABELS },
          spec: {
            serviceAccountName: SA,
            containers: [
              {
                name: 'local-path-provisioner',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['local-path-provisioner', 'start', '--config', '/etc/config/config.json'],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'CONFIG_MOUNT_PATH', value: '/etc/config/' },
                ],
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: 'local-path-config' } }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        labels: LABELS,
        annotations: lp.defaultClass ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : undefined,
      },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    },
  ];
}

export const storageAddon: AddonModule = {
  name: 'storage',
  units(view) {
    if (!enabled(view)) return [];
    // its provisioner is a pod: after the pod network
    return [applyUnit('local-path-storage', 'cni', clusterFile('storage', 'cluster/15-local-path-storage.yaml', yamlFile(view.name, storageDocs(view))), { after: [CALICO_UNIT] })];
  },
  images(view) {
    return enabled(view) ? [resolveImage(LOCAL_PATH_IMAGE, view.registry), resolveImage(LOCAL_PATH_HELPER_IMAGE, view.registry)] : [];
  },
  helmReleases() {
    return [];
  },
};

// The addon registry: everything rendered into cluster/ comes from these modules, in apply order.
import type { ClusterView } from '../../spec/derive.js';
import type { Facts, GeneratedFile, Generator } from '../types.js';
import type { AddonModule } from './addon.js';
import type { HelmRelease } from './helm.js';
import { calicoAddon } from './calico/calico.js';
import { dashboardAddon } from './dashboard/dashboard.js';
import { gpuOperatorAddon } from './gpu-operator/gpu-operator.js';
import { monitoringAddon } from './monitoring/monitoring.js';
import { difyAddon } from './dify/dify.js';
import { environmentsAddon } from './environments/environments.js';
import { modelsAddon } from './models/models.js';
import { storageAddon } from './storage/storage.js';

export const addons: AddonModule[] = [
  calicoAddon, // 10-11 (helm 10 in operator mode)
  storageAddon, // 15
  dashboardAddon, // 20, helm 20
  gpuOperatorAddon, // 30, helm 30, 39 (GPU check, before the models take the GPUs)
  monitoringAddon, // 40-42, helm 41
  environmentsAddon, // 50-51
  modelsAddon, // 60-69
  difyAddon, // helm 70, 71
];

export const manifestsGenerator: Generator = {
  name: 'manifests',
  generate(view: ClusterView, facts: Facts): GeneratedFile[] {
    return addons.flatMap((a) => a.files(view, facts));
  },
};

export function helmReleases(view: ClusterView): HelmRelease[] {
  return addons.flatMap((a) => a.helmReleases(view)).sort((a, b) => a.order - b.order || a.release.localeCompare(b.release));
}

/** Every image the cluster's addons pull (kubeadm's own images are listed by src/images.ts kubeadmImages). */
export function addonImages(view: ClusterView): string[] {
  return [...new Set(addons.flatMap((a) => a.images(view)))].sort();
}

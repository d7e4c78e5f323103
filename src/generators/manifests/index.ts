// The addon registry: everything rendered into cluster/ comes from these modules, in apply order.
import type { ClusterView } from '../../spec/derive.js';
import type { ClusterUnit, RenderInputs, Generator } from '../types.js';
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

/** In the order their units are applied where no declared dependency says otherwise (files: cluster/NN-*.yaml). */
export const addons: AddonModule[] = [
  calicoAddon, // cni: 10-11 (the tigera-operator release first in operator mode)
  storageAddon, // cni: 15
  dashboardAddon, // addons: 20, its release
  gpuOperatorAddon, // addons: 30, its release, 39 (the GPU check, before the models take the GPUs)
  monitoringAddon, // addons: 40-41, its release, 42
  environmentsAddon, // environments: 50-51
  modelsAddon, // models: 60-69
  difyAddon, // apps: its release, 71
];

/**
 * The cluster's add-ons as units applied through the API: Calico, the local-path StorageClass, the dashboard, the GPU
 * Operator, monitoring, the environments' namespaces and quotas, the models and Dify.
 */
export const manifestsGenerator: Generator = {
  name: 'manifests',
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[] {
    return addons.flatMap((a) => a.units(view, inputs));
  },
};

/** Every Helm release the cluster's addons install (their charts are in the bundle), by release name. */
export function helmReleases(view: ClusterView): HelmRelease[] {
  return addons.flatMap((a) => a.helmReleases(view)).sort((a, b) => a.release.localeCompare(b.release));
}

/** Every image the cluster's addons pull (kubeadm's own images are listed by src/images.ts kubeadmImages). */
export function addonImages(view: ClusterView): string[] {
  return [...new Set(addons.flatMap((a) => a.images(view)))].sort();
}

// images.txt: every image the cluster pulls, for building (and checking) the offline bundle. It is kubeadm's own list
// plus what every addon module declares; test/unit/consistency.test.ts proves it equals the set of image references
// actually present in the rendered manifests, values files, kubeadm and containerd configs.
import type { ClusterView } from '../../../spec/derive.js';
import { kubeadmImages } from '../../../images.js';
import { hashMarker } from '../../render/marker.js';
import type { ClusterUnit, RenderInputs, Generator } from '../../types.js';
import { clusterFile } from '../../types.js';
import { addonImages } from '../index.js';

export const IMAGES_PATH = 'images.txt';

export function imageList(view: ClusterView): string[] {
  return [...new Set([...kubeadmImages(view.kubernetesVersion, view.registry), ...addonImages(view)])].sort();
}

/**
 * images.txt: every image the cluster runs, from the same code that renders each image reference (what the bundle must
 * hold; nothing applies it).
 */
export const imagesGenerator: Generator = {
  name: 'images',
  units(view: ClusterView, _facts: RenderInputs): ClusterUnit[] {
    // for the people carrying the images in and for `bundle list`; nothing applies it
    const file = clusterFile('images', IMAGES_PATH, hashMarker(view.name) + imageList(view).map((i) => `${i}\n`).join(''));
    return [{ kind: 'cluster', name: 'images', phase: 'verify', after: [], action: { kind: 'none' }, files: [file] }];
  },
};

/** The image references in an images.txt (comments and blank lines skipped). */
export function parseImageList(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

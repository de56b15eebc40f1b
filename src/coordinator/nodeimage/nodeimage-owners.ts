/**
 * How NodeImage tags name the ImagePullJobs that want them (spec §4.3: `ownerReferences` are corev1
 * ObjectReferences, not metadata ownerReferences), and the cache index from a job's uid to the NodeImages where it
 * owns a tag: the NodeImage controller revisits those when the job is deleted (§4.5, last paragraph), and the job
 * controller finds tags it must release or refresh without scanning every NodeImage.
 */
import { GROUP, KIND_IMAGEPULLJOB } from '../../api/group-version.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import type { ObjectReference } from '../../api/object-reference.js';

/** Cache index name on the NodeImage informer: ImagePullJob uid → NodeImages with a tag it owns. */
export const INDEX_IMAGEPULLJOB_OWNER_UID = 'imagePullJobOwnerUid';

/** True for a tag owner that is an ImagePullJob of our group (other owner kinds are never garbage-collected). */
export function isImagePullJobRef(ref: ObjectReference): boolean {
  if (ref.kind !== KIND_IMAGEPULLJOB) return false;
  const apiVersion = ref.apiVersion ?? '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return group === GROUP;
}

/** The uids of every ImagePullJob owning some tag of `ni` (the index function). */
export function imagePullJobOwnerUids(ni: NodeImage): string[] {
  const uids = new Set<string>();
  for (const image of Object.values(ni.spec?.images ?? {})) {
    for (const tag of image.tags ?? []) {
      for (const ref of tag.ownerReferences ?? []) if (isImagePullJobRef(ref) && ref.uid) uids.add(ref.uid);
    }
  }
  return [...uids];
}

/** `name:tag`, or `name@sha256:…` when the tag is a digest (spec README: digest pins are kept). */
export function imageTagReference(imageName: string, tag: string): string {
  return tag.includes(':') ? `${imageName}@${tag}` : `${imageName}:${tag}`;
}

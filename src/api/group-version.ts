/**
 * The API group, version, kinds and resource names of our custom resources. They are v0.9.0's, unchanged, because
 * users bring their OpenKruise YAML (spec README).
 */

export const GROUP = 'apps.kruise.io';
export const VERSION = 'v1alpha1';
/** `apiVersion` as written in objects. */
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const KIND_CLONESET = 'CloneSet';
export const KIND_SIDECARSET = 'SidecarSet';
export const KIND_IMAGEPULLJOB = 'ImagePullJob';
export const KIND_NODEIMAGE = 'NodeImage';

export type KruiseKind = typeof KIND_CLONESET | typeof KIND_SIDECARSET | typeof KIND_IMAGEPULLJOB | typeof KIND_NODEIMAGE;

export interface ResourceNames {
  kind: KruiseKind;
  listKind: string;
  /** The REST resource name, as in `/apis/apps.kruise.io/v1alpha1/namespaces/ns/clonesets`. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
}

/** Names and scope per kind, as upstream v0.9.0's CRDs declare them (config/crd/bases). */
export const RESOURCES: Readonly<Record<KruiseKind, Readonly<ResourceNames>>> = Object.freeze({
  CloneSet: Object.freeze({
    kind: KIND_CLONESET, listKind: 'CloneSetList', plural: 'clonesets', singular: 'cloneset',
    shortNames: Object.freeze(['clone']), namespaced: true,
  }),
  SidecarSet: Object.freeze({
    kind: KIND_SIDECARSET, listKind: 'SidecarSetList', plural: 'sidecarsets', singular: 'sidecarset',
    shortNames: Object.freeze([]), namespaced: false,
  }),
  ImagePullJob: Object.freeze({
    kind: KIND_IMAGEPULLJOB, listKind: 'ImagePullJobList', plural: 'imagepulljobs', singular: 'imagepulljob',
    shortNames: Object.freeze([]), namespaced: true,
  }),
  NodeImage: Object.freeze({
    kind: KIND_NODEIMAGE, listKind: 'NodeImageList', plural: 'nodeimages', singular: 'nodeimage',
    shortNames: Object.freeze([]), namespaced: false,
  }),
});

export const PLURAL_CLONESETS = RESOURCES.CloneSet.plural;
export const PLURAL_SIDECARSETS = RESOURCES.SidecarSet.plural;
export const PLURAL_IMAGEPULLJOBS = RESOURCES.ImagePullJob.plural;
export const PLURAL_NODEIMAGES = RESOURCES.NodeImage.plural;

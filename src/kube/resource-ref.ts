/** Which resource a request is about, and the URL paths Kubernetes gives it. */
import { API_VERSION as KRUISE_API_VERSION } from '../api/group-version.js';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

function prefix(ref: ResourceRef): string {
  return ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
}

/** The collection URL; a namespaced resource without a namespace lists across all namespaces. */
export function collectionPath(ref: ResourceRef, namespace?: string): string {
  return ref.namespaced && namespace ? `${prefix(ref)}/namespaces/${encodeURIComponent(namespace)}/${ref.plural}` : `${prefix(ref)}/${ref.plural}`;
}

export function objectPath(ref: ResourceRef, namespace: string, name: string): string {
  return `${collectionPath(ref, ref.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}

const core = (plural: string, kind: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', plural, kind, namespaced });
const [KRUISE_GROUP, KRUISE_VERSION] = KRUISE_API_VERSION.split('/') as [string, string];
const kruise = (plural: string, kind: string, namespaced = true): ResourceRef => ({ group: KRUISE_GROUP, version: KRUISE_VERSION, plural, kind, namespaced });

export const resources = {
  pods: core('pods', 'Pod'),
  nodes: core('nodes', 'Node', false),
  namespaces: core('namespaces', 'Namespace', false),
  events: core('events', 'Event'),
  secrets: core('secrets', 'Secret'),
  configMaps: core('configmaps', 'ConfigMap'),
  persistentVolumeClaims: core('persistentvolumeclaims', 'PersistentVolumeClaim'),
  controllerRevisions: { group: 'apps', version: 'v1', plural: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  cloneSets: kruise('clonesets', 'CloneSet'),
  sidecarSets: kruise('sidecarsets', 'SidecarSet', false),
  imagePullJobs: kruise('imagepulljobs', 'ImagePullJob'),
  nodeImages: kruise('nodeimages', 'NodeImage', false),
} as const satisfies Record<string, ResourceRef>;

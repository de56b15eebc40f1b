/** Shared fakes for the admission handler tests: a silent context, fake lookups, review builders. */
import { pino } from 'pino';
import { parseFeatureGates, type FeatureGates, type KubeObject, type PersistentVolumeClaim, type Pod, type SidecarSet } from '../../../../src/api/index.js';
import type { AdmissionLookups, AdmissionRequest, CustomResourceListTarget, HandlerContext } from '../../../../src/coordinator/admission/index.js';

export const NOW = new Date('2024-05-01T10:00:00Z');

export function ctx(signal: AbortSignal = new AbortController().signal): HandlerContext {
  return { signal, logger: pino({ level: 'silent' }), now: () => NOW };
}

export function gates(flag = ''): FeatureGates {
  return parseFeatureGates(flag);
}

export const PROTECTION_ON = gates('ResourcesDeletionProtection=true');
export const PROTECTION_OFF = gates('ResourcesDeletionProtection=false');

export interface FakeCluster {
  pods?: Pod[];
  pvcs?: PersistentVolumeClaim[];
  crs?: KubeObject[];
  sidecarSets?: SidecarSet[];
  /** Makes the named lookup reject with this message. */
  fail?: Partial<Record<keyof AdmissionLookups, string>>;
}

export function fakeLookups(c: FakeCluster): AdmissionLookups & { crTargets: CustomResourceListTarget[] } {
  const failIf = (what: keyof AdmissionLookups) => {
    const m = c.fail?.[what];
    if (m !== undefined) throw new Error(m);
  };
  const crTargets: CustomResourceListTarget[] = [];
  return {
    crTargets,
    listPods: (ns) => { failIf('listPods'); return Promise.resolve((c.pods ?? []).filter((p) => p.metadata.namespace === ns)); },
    listPersistentVolumeClaims: (ns) => {
      failIf('listPersistentVolumeClaims');
      return Promise.resolve((c.pvcs ?? []).filter((p) => p.metadata.namespace === ns));
    },
    listCustomResources: (t) => { crTargets.push(t); failIf('listCustomResources'); return Promise.resolve(c.crs ?? []); },
    getPod: (ns, name) => {
      failIf('getPod');
      const pod = (c.pods ?? []).find((p) => p.metadata.namespace === ns && p.metadata.name === name);
      return pod ? Promise.resolve(pod) : Promise.reject(new Error(`pods "${name}" not found`));
    },
    listSidecarSets: () => { failIf('listSidecarSets'); return Promise.resolve(c.sidecarSets ?? []); },
  };
}

export function pod(namespace: string, name: string, phase: string, extra: Partial<Pod['metadata']> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, ...extra }, spec: { containers: [] }, status: { phase } } as Pod;
}

const KINDS: Record<string, { group: string; version: string; resource: string }> = {
  Namespace: { group: '', version: 'v1', resource: 'namespaces' },
  CustomResourceDefinition: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  Service: { group: '', version: 'v1', resource: 'services' },
  Ingress: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
  CloneSet: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'clonesets' },
  ImagePullJob: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'imagepulljobs' },
  NodeImage: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'nodeimages' },
  SidecarSet: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'sidecarsets' },
};

export function review(kind: string, operation: AdmissionRequest['operation'], object: unknown, oldObject?: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const k = KINDS[kind];
  if (!k) throw new Error(`unknown kind ${kind}`);
  return {
    uid: 'uid-1', kind: { group: k.group, version: k.version, kind }, resource: { ...k }, operation,
    userInfo: { username: 'alice' }, object: object ?? null, oldObject: oldObject ?? null, ...extra,
  };
}

export function deleteReview(kind: string, oldObject: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return review(kind, 'DELETE', null, oldObject, extra);
}

export function labelled(value: string | undefined, obj: Record<string, unknown> & { metadata: Record<string, unknown> }): KubeObject {
  const o = structuredClone(obj) as unknown as KubeObject;
  if (value !== undefined) o.metadata.labels = { ...o.metadata.labels, 'policy.kruise.io/delete-protection': value };
  return o;
}

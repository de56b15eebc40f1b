/**
 * What the handlers read from the cluster, as one small interface: the webhook server passes a KubeClient-backed
 * implementation, unit tests pass fakes. Every call takes the request's signal, so a slow API server cannot hold
 * an admission request beyond its time bound.
 */
import type { KubeObject, PersistentVolumeClaim, Pod, SidecarSet } from '../../api/index.js';
import { resources, type KubeClient, type ObjectCache, type ResourceRef } from '../../kube/index.js';

/** A CRD's storage version, enough to list its custom resources (spec §1.2). */
export interface CustomResourceListTarget {
  group: string;
  version: string;
  plural: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
}

export interface AdmissionLookups {
  /** Pods of one namespace. */
  listPods(namespace: string, signal: AbortSignal): Promise<Pod[]>;
  /** PersistentVolumeClaims of one namespace. */
  listPersistentVolumeClaims(namespace: string, signal: AbortSignal): Promise<PersistentVolumeClaim[]>;
  /** The custom resources of a CRD in every namespace. */
  listCustomResources(target: CustomResourceListTarget, signal: AbortSignal): Promise<KubeObject[]>;
  /** One Pod; rejects with an Error whose message is the API's (`pods "x" not found`). */
  getPod(namespace: string, name: string, signal: AbortSignal): Promise<Pod>;
  /** Every SidecarSet of the cluster. */
  listSidecarSets(signal: AbortSignal): Promise<SidecarSet[]>;
}

const PVCS: ResourceRef = resources.persistentVolumeClaims;

/**
 * Lookups through the API (quorum reads). Lists are paged (500 a page) so a namespace with many Pods does not
 * produce one huge response.
 */
export function kubeClientLookups(client: KubeClient): AdmissionLookups {
  async function listAll<T extends KubeObject>(ref: ResourceRef, namespace: string | undefined, signal: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let continueToken: string | undefined;
    do {
      const page = await client.list<T>(ref, {
        ...(namespace !== undefined ? { namespace } : {}), limit: 500, signal,
        ...(continueToken ? { continueToken } : {}),
      });
      items.push(...page.items);
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return items;
  }
  return {
    listPods: async (namespace, signal) => (await listAll<KubeObject>(resources.pods, namespace, signal)) as unknown as Pod[],
    listPersistentVolumeClaims: async (namespace, signal) =>
      (await listAll<KubeObject>(PVCS, namespace, signal)) as unknown as PersistentVolumeClaim[],
    listCustomResources: (t, signal) => listAll<KubeObject>(
      { group: t.group, version: t.version, plural: t.plural, kind: t.kind, namespaced: t.namespaced }, undefined, signal),
    getPod: async (namespace, name, signal) => (await client.get<KubeObject>(resources.pods, namespace, name, signal)) as unknown as Pod,
    listSidecarSets: async (signal) => (await listAll<KubeObject>(resources.sidecarSets, undefined, signal)) as unknown as SidecarSet[],
  };
}

/**
 * SidecarSets from an informer's cache once it has synced, through `fallback` before: the pod webhook runs on every
 * Pod CREATE, and a LIST through the API each time was most of its cost (upstream reads its cache too). Like
 * upstream's, a SidecarSet created a moment before a Pod may not be seen yet; the SidecarSet webhook's conflict
 * check keeps the quorum read.
 */
export function cachedSidecarSets(
  informer: { hasSynced(): boolean; readonly cache: Pick<ObjectCache<KubeObject>, 'list'> },
  fallback: Pick<AdmissionLookups, 'listSidecarSets'>,
): Pick<AdmissionLookups, 'listSidecarSets'> {
  return {
    listSidecarSets: async (signal) => (informer.hasSynced()
      ? informer.cache.list() as unknown as SidecarSet[]
      : fallback.listSidecarSets(signal)),
  };
}

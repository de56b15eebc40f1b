/**
 * Read-mutate-write whose first attempt starts from a copy the controller already holds (the informer's, or what
 * its previous write returned) instead of a GET. Upstream's in-place update reads the Pod through the manager's
 * cache the same way (`podAdapter.GetPod` inside `RetryOnConflict`). Expectations make sure a reconcile only
 * runs once the cache shows our own earlier writes, so the copy is usually current; when it is not (the kubelet
 * wrote meanwhile) the PUT is a 409 and every later attempt re-reads from the API, as `updateWithRetry` does.
 * This halves the requests of an in-place update round: one PUT per write instead of GET + PUT.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../api/meta.js';
import { retryOnConflict, type KubeClient, type ResourceRef } from '../../kube/index.js';

export type KnownObjectClient = Pick<KubeClient, 'get' | 'update' | 'updateStatus'>;

export interface KnownObjectUpdateOptions {
  signal: AbortSignal;
  /** Write through `/status`; skipped when the mutated status is deep-equal to the one it started from. */
  status?: boolean;
}

/**
 * Applies `mutate` to a copy of `known` and PUTs it with `known`'s resourceVersion; on 409 Conflict re-reads and
 * re-applies (client-go's DefaultRetry). `mutate` gets a private copy and returns `undefined` for "no change".
 * Returns the object as written, or the one the mutation saw when nothing was written.
 */
export function updateFromKnown<T extends KubeObject>(
  client: KnownObjectClient, ref: ResourceRef, known: Readonly<T>, mutate: (obj: T) => T | undefined,
  o: KnownObjectUpdateOptions,
): Promise<T> {
  const namespace = known.metadata.namespace ?? '';
  const name = known.metadata.name ?? '';
  return retryOnConflict(async (attempt) => {
    // `known` may be a cache object (read-only); the mutation always gets a copy and `current` stays as read.
    const current = attempt === 1 ? known as T : await client.get<T>(ref, namespace, name, o.signal);
    const next = mutate(structuredClone(current));
    if (next === undefined || (o.status === true && isDeepStrictEqual(next.status, current.status))) return current;
    // The write carries the version the mutation started from, so a concurrent change is a 409, not a lost update.
    const body = { ...next, metadata: { ...next.metadata, namespace, name, resourceVersion: current.metadata.resourceVersion } };
    return o.status === true ? client.updateStatus<T>(ref, body, o.signal) : client.update<T>(ref, body, o.signal);
  }, { signal: o.signal });
}

/**
 * The storage boundary of the embedded API server. Everything above it (REST semantics, admission, watch) is
 * independent of where objects live; the in-memory implementation is the only one today, and a persistent one
 * can follow behind the same interface.
 *
 * Contract:
 * - one resourceVersion counter for the whole store, strictly increasing with every committed write;
 * - a write either commits whole (object stored, counter bumped, one event emitted) or throws and changes nothing;
 * - events are delivered to subscribers synchronously, in commit order, exactly once;
 * - stored objects are never mutated after commit: readers may share them, writers pass new objects.
 */
import type { KubeObject } from '../../../api/meta.js';

export interface StoredEntry {
  readonly object: KubeObject;
  /** The object serialised once at commit; lists and watches reuse it instead of stringifying again. */
  readonly json: string;
  readonly resourceVersion: number;
}

export type StorageEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  readonly type: StorageEventType;
  /** Resource key `<group>/<plural>`. */
  readonly key: string;
  readonly entry: StoredEntry;
  /** The object before this write (MODIFIED and DELETED). */
  readonly previous?: StoredEntry;
}

export interface ListScope {
  namespace?: string;
  /** Only objects with this `spec.nodeName` (served from an index). */
  nodeName?: string;
  /** Only the object with this name (served from the primary map). */
  name?: string;
}

export interface Storage {
  /** The resourceVersion of the last committed write. */
  readonly resourceVersion: number;
  get(key: string, namespace: string, name: string): StoredEntry | undefined;
  /** Entries in (namespace, name) order. */
  list(key: string, scope?: ListScope): StoredEntry[];
  count(key: string): number;
  /** Fails with AlreadyExists semantics (returns undefined) when the name is taken. */
  create(key: string, object: KubeObject): StoredEntry | undefined;
  /**
   * Replaces an existing object. `expectedResourceVersion` is the optimistic-concurrency precondition.
   * Returns 'notfound' or 'conflict' instead of throwing so callers build the right Status.
   */
  update(key: string, object: KubeObject, expectedResourceVersion?: number): StoredEntry | 'notfound' | 'conflict';
  remove(key: string, namespace: string, name: string, expectedResourceVersion?: number): StoredEntry | 'notfound' | 'conflict';
  /** Committed events of one resource after `resourceVersion`, or 'gone' when history no longer reaches it. */
  eventsSince(key: string, resourceVersion: number): StorageEvent[] | 'gone';
  /** Oldest resourceVersion a watch on `key` may start from. */
  oldestWatchable(key: string): number;
  subscribe(listener: (event: StorageEvent) => void): () => void;
}

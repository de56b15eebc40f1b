/**
 * The informer's cache: objects by key (`namespace/name`, or `name` for cluster-scoped objects) plus indexes.
 * Objects in it are shared and must be treated as read-only: copy (structuredClone) before changing one.
 */
import type { KubeObject } from '../../api/meta.js';

/** Returns the index values of an object (an object may sit under several values, or none). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => readonly string[];

export const INDEX_NAMESPACE = 'namespace';
export const INDEX_CONTROLLER_UID = 'controllerUid';
export const INDEX_NODE_NAME = 'nodeName';

export const defaultIndexers: Readonly<Record<string, IndexFunc>> = {
  [INDEX_NAMESPACE]: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
  [INDEX_CONTROLLER_UID]: (o) => {
    const c = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
    return c ? [c.uid] : [];
  },
  [INDEX_NODE_NAME]: (o) => {
    const n = (o.spec as { nodeName?: unknown } | undefined)?.nodeName;
    return typeof n === 'string' && n !== '' ? [n] : [];
  },
};

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : obj.metadata.name ?? '';
}

export interface CacheDelta<T> { type: 'add' | 'update' | 'delete'; key: string; old?: T; obj: T }

export class ObjectCache<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, { fn: IndexFunc<T>; index: Map<string, Set<string>> }>();

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`indexer ${name} already exists`);
    const index = new Map<string, Set<string>>();
    for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(index, v, key);
    this.indexers.set(name, { fn, index });
  }

  get size(): number { return this.items.size; }

  get(key: string): T | undefined { return this.items.get(key); }

  getByName(namespace: string, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] { return [...this.items.values()]; }

  keys(): string[] { return [...this.items.keys()]; }

  byIndex(indexName: string, value: string): T[] {
    const ix = this.indexers.get(indexName);
    if (!ix) throw new Error(`no indexer named ${indexName}`);
    const keys = ix.index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Inserts or replaces; returns the delta, or undefined when the stored object has the same resourceVersion. */
  upsert(obj: T): CacheDelta<T> | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion && old.metadata.resourceVersion !== undefined) return undefined;
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old ? { type: 'update', key, old, obj } : { type: 'add', key, obj };
  }

  remove(obj: T): CacheDelta<T> | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    // Report the last state we knew if the delete carries less (DeletedFinalStateUnknown in client-go).
    return { type: 'delete', key, obj: obj.metadata.resourceVersion ? obj : old, old };
  }

  /**
   * Replaces the whole content with a fresh list (after a relist) and returns the differences: adds for new
   * objects, updates for objects whose resourceVersion changed, deletes for objects that are gone. Objects that
   * did not change produce nothing, so a relist never repeats an event.
   */
  replace(objs: readonly T[]): CacheDelta<T>[] {
    const deltas: CacheDelta<T>[] = [];
    const seen = new Set<string>();
    for (const o of objs) {
      seen.add(objectKey(o));
      const d = this.upsert(o);
      if (d) deltas.push(d);
    }
    for (const [key, old] of [...this.items]) {
      if (seen.has(key)) continue;
      this.unindex(key, old);
      this.items.delete(key);
      deltas.push({ type: 'delete', key, obj: old, old });
    }
    return deltas;
  }

  private index(key: string, obj: T): void {
    for (const { fn, index } of this.indexers.values()) for (const v of fn(obj)) addTo(index, v, key);
  }

  private unindex(key: string, obj: T): void {
    for (const { fn, index } of this.indexers.values()) {
      for (const v of fn(obj)) {
        const s = index.get(v);
        if (!s) continue;
        s.delete(key);
        if (s.size === 0) index.delete(v);
      }
    }
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let s = index.get(value);
  if (!s) { s = new Set(); index.set(value, s); }
  s.add(key);
}

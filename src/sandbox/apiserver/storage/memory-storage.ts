/**
 * In-memory Storage: a map per resource, indexes by namespace and spec.nodeName, and a bounded event history per
 * resource from which watches resume (older versions answer 410 Gone, as etcd compaction does).
 */
import type { KubeObject } from '../../../api/meta.js';
import type { ListScope, Storage, StorageEvent, StoredEntry } from './storage.js';

export interface MemoryStorageOptions {
  /** Events kept per resource for watch resumption. @default 10000 */
  historyPerResource?: number;
}

class ResourceTable {
  readonly objects = new Map<string, StoredEntry>();
  readonly byNamespace = new Map<string, Set<string>>();
  readonly byNodeName = new Map<string, Set<string>>();
  history: StorageEvent[] = [];
  historyStart = 0;
  /** The resourceVersion before the oldest event still in history. */
  compactedAt = 0;
  private sorted: string[] | undefined;

  sortedKeys(): string[] {
    if (!this.sorted) this.sorted = [...this.objects.keys()].sort(compareKeys);
    return this.sorted;
  }

  index(id: string, obj: KubeObject): void {
    this.sorted = undefined;
    addTo(this.byNamespace, obj.metadata.namespace ?? '', id);
    const node = nodeNameOf(obj);
    if (node !== undefined) addTo(this.byNodeName, node, id);
  }

  unindex(id: string, obj: KubeObject): void {
    this.sorted = undefined;
    removeFrom(this.byNamespace, obj.metadata.namespace ?? '', id);
    const node = nodeNameOf(obj);
    if (node !== undefined) removeFrom(this.byNodeName, node, id);
  }
}

function nodeNameOf(obj: KubeObject): string | undefined {
  const spec = obj.spec as { nodeName?: unknown } | undefined;
  return typeof spec?.nodeName === 'string' ? spec.nodeName : undefined;
}

function addTo(m: Map<string, Set<string>>, k: string, id: string): void {
  let s = m.get(k);
  if (!s) { s = new Set(); m.set(k, s); }
  s.add(id);
}

function removeFrom(m: Map<string, Set<string>>, k: string, id: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(id);
  if (s.size === 0) m.delete(k);
}

/** Ids are `namespace/name`; '/' sorts before any name character, so this is (namespace, name) order. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function idOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class MemoryStorage implements Storage {
  private rv = 0;
  private readonly tables = new Map<string, ResourceTable>();
  private readonly listeners = new Set<(e: StorageEvent) => void>();
  private readonly historyLimit: number;

  constructor(options: MemoryStorageOptions = {}) {
    this.historyLimit = options.historyPerResource ?? 10000;
  }

  get resourceVersion(): number { return this.rv; }

  private table(key: string): ResourceTable {
    let t = this.tables.get(key);
    if (!t) {
      t = new ResourceTable();
      // A resource first written now has lost no history: every version since 0 may be watched from.
      t.compactedAt = 0;
      this.tables.set(key, t);
    }
    return t;
  }

  get(key: string, namespace: string, name: string): StoredEntry | undefined {
    return this.tables.get(key)?.objects.get(idOf(namespace, name));
  }

  list(key: string, scope: ListScope = {}): StoredEntry[] {
    const t = this.tables.get(key);
    if (!t) return [];
    if (scope.name !== undefined) {
      if (scope.namespace !== undefined) {
        const e = t.objects.get(idOf(scope.namespace, scope.name));
        return e && this.inScope(e, scope) ? [e] : [];
      }
      return t.sortedKeys().filter((id) => id.endsWith(`/${scope.name}`)).map((id) => t.objects.get(id)!)
        .filter((e) => e.object.metadata.name === scope.name && this.inScope(e, scope));
    }
    let ids: Iterable<string>;
    let needsSort = true;
    if (scope.nodeName !== undefined) ids = t.byNodeName.get(scope.nodeName) ?? [];
    else if (scope.namespace !== undefined) ids = t.byNamespace.get(scope.namespace) ?? [];
    else { ids = t.sortedKeys(); needsSort = false; }
    const out: StoredEntry[] = [];
    const idList = needsSort ? [...ids].sort(compareKeys) : (ids as string[]);
    for (const id of idList) {
      const e = t.objects.get(id)!;
      if (this.inScope(e, scope)) out.push(e);
    }
    return out;
  }

  private inScope(e: StoredEntry, scope: ListScope): boolean {
    if (scope.namespace !== undefined && (e.object.metadata.namespace ?? '') !== scope.namespace) return false;
    if (scope.nodeName !== undefined && nodeNameOf(e.object) !== scope.nodeName) return false;
    return true;
  }

  count(key: string): number { return this.tables.get(key)?.objects.size ?? 0; }

  create(key: string, object: KubeObject): StoredEntry | undefined {
    const t = this.table(key);
    const id = idOf(object.metadata.namespace ?? '', object.metadata.name ?? '');
    if (t.objects.has(id)) return undefined;
    const entry = this.seal(object);
    t.objects.set(id, entry);
    t.index(id, entry.object);
    this.emit(t, { type: 'ADDED', key, entry });
    return entry;
  }

  update(key: string, object: KubeObject, expected?: number): StoredEntry | 'notfound' | 'conflict' {
    const t = this.table(key);
    const id = idOf(object.metadata.namespace ?? '', object.metadata.name ?? '');
    const previous = t.objects.get(id);
    if (!previous) return 'notfound';
    if (expected !== undefined && expected !== previous.resourceVersion) return 'conflict';
    const entry = this.seal(object);
    t.unindex(id, previous.object);
    t.objects.set(id, entry);
    t.index(id, entry.object);
    this.emit(t, { type: 'MODIFIED', key, entry, previous });
    return entry;
  }

  remove(key: string, namespace: string, name: string, expected?: number): StoredEntry | 'notfound' | 'conflict' {
    const t = this.table(key);
    const id = idOf(namespace, name);
    const previous = t.objects.get(id);
    if (!previous) return 'notfound';
    if (expected !== undefined && expected !== previous.resourceVersion) return 'conflict';
    // A delete is a write: the deleted object carries the new resourceVersion, as the API server reports it.
    const object = { ...previous.object, metadata: { ...previous.object.metadata } };
    const entry = this.seal(object);
    t.objects.delete(id);
    t.unindex(id, previous.object);
    this.emit(t, { type: 'DELETED', key, entry, previous });
    return entry;
  }

  eventsSince(key: string, resourceVersion: number): StorageEvent[] | 'gone' {
    const t = this.table(key);
    if (resourceVersion < t.compactedAt) return 'gone';
    const h = t.history;
    // Binary search for the first event newer than resourceVersion.
    let lo = t.historyStart, hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (h[mid]!.entry.resourceVersion <= resourceVersion) lo = mid + 1; else hi = mid;
    }
    return h.slice(lo);
  }

  oldestWatchable(key: string): number { return this.table(key).compactedAt; }

  subscribe(listener: (e: StorageEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private seal(object: KubeObject): StoredEntry {
    const rv = ++this.rv;
    const metadata = { ...object.metadata, resourceVersion: String(rv) };
    const sealed = { ...object, metadata } as KubeObject;
    return { object: sealed, json: JSON.stringify(sealed), resourceVersion: rv };
  }

  private emit(t: ResourceTable, event: StorageEvent): void {
    t.history.push(event);
    const live = t.history.length - t.historyStart;
    if (live > this.historyLimit) {
      const dropped = t.history[t.historyStart]!;
      t.compactedAt = dropped.entry.resourceVersion;
      t.historyStart++;
      // Reclaim the array now and then instead of shifting on every write.
      if (t.historyStart > this.historyLimit) {
        t.history = t.history.slice(t.historyStart);
        t.historyStart = 0;
      }
    }
    for (const l of this.listeners) {
      try { l(event); } catch { /* a listener's failure must not undo a committed write */ }
    }
  }
}

/**
 * Fans committed storage events out to watchers. Dispatch is synchronous with the commit, so a watcher that
 * started at resourceVersion N sees every later change of its resource exactly once and in order, with no gap
 * between the initial state it was sent and the live stream.
 */
import type { KubeObject } from '../../../api/meta.js';
import type { Storage, StorageEvent, StoredEntry } from '../storage/storage.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchFilter {
  namespace?: string;
  /** Extra predicate: label and field selectors. */
  matches?: (obj: KubeObject) => boolean;
}

export interface WatchSink {
  deliver(type: WatchEventType, entry: StoredEntry): void;
}

interface Registration { filter: WatchFilter; sink: WatchSink }

export class WatchHub {
  private readonly byKey = new Map<string, Set<Registration>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly storage: Storage) {
    this.unsubscribe = storage.subscribe((e) => this.dispatch(e));
  }

  /**
   * Starts a watch. `fromResourceVersion` undefined means "current state as ADDED events, then changes";
   * a number means "changes after that version". Returns 'gone' when history no longer reaches that version.
   */
  start(key: string, filter: WatchFilter, fromResourceVersion: number | undefined, sink: WatchSink): (() => void) | 'gone' {
    if (fromResourceVersion === undefined) {
      for (const entry of this.storage.list(key, filter.namespace !== undefined ? { namespace: filter.namespace } : {})) {
        if (matches(filter, entry.object)) sink.deliver('ADDED', entry);
      }
    } else {
      const past = this.storage.eventsSince(key, fromResourceVersion);
      if (past === 'gone') return 'gone';
      for (const e of past) deliverFiltered({ filter, sink }, e);
    }
    const reg: Registration = { filter, sink };
    let set = this.byKey.get(key);
    if (!set) { set = new Set(); this.byKey.set(key, set); }
    set.add(reg);
    return () => { set.delete(reg); };
  }

  watcherCount(): number {
    let n = 0;
    for (const s of this.byKey.values()) n += s.size;
    return n;
  }

  close(): void { this.unsubscribe(); this.byKey.clear(); }

  private dispatch(e: StorageEvent): void {
    const set = this.byKey.get(e.key);
    if (!set) return;
    for (const reg of set) {
      try { deliverFiltered(reg, e); } catch { /* one broken sink must not starve the others */ }
    }
  }
}

function matches(filter: WatchFilter, obj: KubeObject): boolean {
  if (filter.namespace !== undefined && (obj.metadata.namespace ?? '') !== filter.namespace) return false;
  return filter.matches ? filter.matches(obj) : true;
}

/**
 * Selector transitions become the events a filtered watcher must see: an object that starts matching is ADDED,
 * one that stops matching is DELETED, as the Kubernetes watch cache reports them.
 */
function deliverFiltered(reg: Registration, e: StorageEvent): void {
  const nowMatches = matches(reg.filter, e.entry.object);
  const before = e.previous ? matches(reg.filter, e.previous.object) : false;
  switch (e.type) {
    case 'ADDED': if (nowMatches) reg.sink.deliver('ADDED', e.entry); break;
    case 'MODIFIED':
      if (nowMatches && before) reg.sink.deliver('MODIFIED', e.entry);
      else if (nowMatches) reg.sink.deliver('ADDED', e.entry);
      else if (before) reg.sink.deliver('DELETED', e.entry);
      break;
    case 'DELETED': if (before || nowMatches) reg.sink.deliver('DELETED', e.entry); break;
  }
}

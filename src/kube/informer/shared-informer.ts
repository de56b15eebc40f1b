/**
 * A list+watch informer that never stops silently (unlike client-node's, which gives up on most errors):
 * - lists, then watches from the list's resourceVersion with bookmarks requested;
 * - on any error or close it resumes from the last resourceVersion it saw, with jittered backoff
 *   (1 s doubling to 30 s, reset on progress);
 * - on 410 Gone it relists and emits only the differences (add/update/delete), never a duplicate or a missed delete;
 * - a watchdog restarts a watch that has been silent longer than a timeout (default 5 min);
 * - handlers run off the watch loop, each from its own queue, so a slow or throwing handler never blocks it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/meta.js';
import { isGone, KubeApiError, type ApiStatus } from '../kube-api-error.js';
import type { KubeClient, ObjectList, WatchEvent } from '../kube-client.js';
import { apiVersionOf, type ResourceRef } from '../resource-ref.js';
import type { CacheDelta, IndexFunc } from './object-cache.js';
import { defaultIndexers, ObjectCache, objectKey } from './object-cache.js';

export interface EventHandler<T extends KubeObject = KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerMetrics {
  watchRestarted(resource: string, reason: string): void;
  relisted(resource: string): void;
  eventReceived(resource: string, type: string): void;
}

export interface InformerOptions {
  client: KubeClient;
  ref: ResourceRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  metrics?: InformerMetrics;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. @default 300000 */
  watchSilenceTimeoutMs?: number;
  /** @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** Server-side watch timeout, so long watches are recycled. @default 300..600 s, random per watch */
  watchTimeoutSeconds?: () => number;
  random?: () => number;
}

/** Objects per list page during a relist. */
const LIST_PAGE_SIZE = 500;

type WatchOutcome = { kind: 'closed' | 'silent'; progressed: boolean } | { kind: 'gone' };

/** True when both versions are decimal (as every Kubernetes server's are) and `obj` is older than `cached`. */
function isOlder(obj: KubeObject, cached: KubeObject | undefined): boolean {
  const a = obj.metadata.resourceVersion;
  const b = cached?.metadata.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length < b.length || (a.length === b.length && a < b);
}

/** Drops what no controller reads and what would double the cache's memory. */
function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata } as T;
}

class HandlerQueue<T extends KubeObject> {
  private readonly pending: CacheDelta<T>[] = [];
  private scheduled = false;

  constructor(readonly handler: EventHandler<T>, private readonly log: Logger | undefined) {}

  push(d: CacheDelta<T>): void {
    this.pending.push(d);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.pending.splice(0, this.pending.length);
    for (const d of batch) {
      try {
        if (d.type === 'add') this.handler.onAdd?.(d.obj);
        else if (d.type === 'update') this.handler.onUpdate?.(d.old!, d.obj);
        else this.handler.onDelete?.(d.obj);
      } catch (e) {
        this.log?.error({ err: e instanceof Error ? e.message : String(e), key: d.key, event: d.type }, 'informer event handler threw');
      }
    }
  }
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly cache: ObjectCache<T>;
  private readonly handlers = new Set<HandlerQueue<T>>();
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private started = false;
  private lastRv: string | undefined;
  private readonly log: Logger | undefined;

  constructor(private readonly o: InformerOptions, indexers: Readonly<Record<string, IndexFunc<T>>> = defaultIndexers as Readonly<Record<string, IndexFunc<T>>>) {
    this.cache = new ObjectCache<T>(indexers);
    this.log = o.logger?.child({ component: 'informer', resource: o.ref.plural, ...(o.namespace ? { namespace: o.namespace } : {}) });
  }

  get ref(): ResourceRef { return this.o.ref; }

  /** The resourceVersion of the last list or event seen. */
  get lastSyncResourceVersion(): string | undefined { return this.lastRv; }

  hasSynced(): boolean { return this.synced; }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => { signal?.removeEventListener('abort', onAbort); resolve(); });
    });
  }

  addIndexer(name: string, fn: IndexFunc<T>): void { this.cache.addIndexer(name, fn); }

  /** Registers a handler; one added after the first sync first receives an add for every cached object. */
  addHandler(handler: EventHandler<T>): () => void {
    const q = new HandlerQueue(handler, this.log);
    this.handlers.add(q);
    if (this.synced) for (const obj of this.cache.list()) q.push({ type: 'add', key: '', obj });
    return () => { this.handlers.delete(q); };
  }

  private dispatch(d: CacheDelta<T>): void {
    for (const q of this.handlers) q.push(d);
  }

  /** Runs until `signal` aborts; never returns early on errors. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`informer for ${this.o.ref.plural} already started`);
    this.started = true;
    const initial = this.o.initialBackoffMs ?? 1000;
    const max = this.o.maxBackoffMs ?? 30_000;
    const random = this.o.random ?? Math.random;
    let backoff = initial;
    let needList = true;
    const pause = async (reason: string): Promise<void> => {
      this.o.metrics?.watchRestarted(this.o.ref.plural, reason);
      // Full jitter within [backoff/2, backoff], so many informers do not reconnect in lockstep.
      const delay = backoff / 2 + random() * (backoff / 2);
      backoff = Math.min(backoff * 2, max);
      await sleep(delay, undefined, { signal, ref: false }).catch(() => undefined);
    };
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
          backoff = initial;
        }
        const outcome = await this.watchOnce(signal);
        if (signal.aborted) break;
        if (outcome.kind === 'gone') {
          this.log?.info({ resourceVersion: this.lastRv }, 'resourceVersion too old: relisting');
          needList = true;
          continue;
        }
        if (outcome.progressed) backoff = initial;
        if (outcome.kind === 'silent') {
          this.log?.warn({ resourceVersion: this.lastRv }, 'watch silent for too long: restarting it');
          await pause('silent');
        } else if (!outcome.progressed) {
          await pause('closed');
        } else {
          this.o.metrics?.watchRestarted(this.o.ref.plural, 'closed');
        }
      } catch (e) {
        if (signal.aborted) break;
        if (isGone(e)) { needList = true; continue; }
        this.log?.warn({ err: e instanceof Error ? e.message : String(e), resourceVersion: this.lastRv, backoffMs: backoff }, 'list/watch failed: retrying');
        await pause(KubeApiError.is(e) ? e.reason : 'error');
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    // Pages of 500, as client-go lists: one 50 MB body would stay in the process's RSS long after the sync.
    // A page that stops arriving fails within the silence bound instead of hanging the informer.
    const pageTimeoutMs = Math.min(this.o.watchSilenceTimeoutMs ?? 300_000, 30_000);
    const all: T[] = [];
    let continueToken: string | undefined;
    let first: ObjectList<T> | undefined;
    do {
      const page: ObjectList<T> = await this.o.client.list<T>(this.o.ref, {
        ...(this.o.namespace ? { namespace: this.o.namespace } : {}),
        ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}),
        ...(this.o.fieldSelector ? { fieldSelector: this.o.fieldSelector } : {}),
        limit: LIST_PAGE_SIZE,
        ...(continueToken ? { continueToken } : {}),
        timeoutMs: pageTimeoutMs,
        signal,
      });
      first ??= page;
      for (const item of page.items) all.push(item);
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    const list = { ...first, items: all };
    // List items may omit apiVersion and kind (the list carries them); watch events never do.
    const apiVersion = apiVersionOf(this.o.ref);
    const items = list.items.map((i) => stripManagedFields({ ...i, apiVersion: i.apiVersion || apiVersion, kind: i.kind || this.o.ref.kind } as T));
    const deltas = this.cache.replace(items);
    this.lastRv = list.metadata.resourceVersion;
    this.o.metrics?.relisted(this.o.ref.plural);
    for (const d of deltas) this.dispatch(d);
    if (!this.synced) {
      this.synced = true;
      const ws = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of ws) w();
    }
  }

  private async watchOnce(parent: AbortSignal): Promise<WatchOutcome> {
    const silenceMs = this.o.watchSilenceTimeoutMs ?? 300_000;
    const watchdog = new AbortController();
    const signal = AbortSignal.any([parent, watchdog.signal]);
    let timer = setTimeout(() => watchdog.abort(), Math.min(silenceMs, 2 ** 31 - 1));
    timer.unref();
    const kick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => watchdog.abort(), Math.min(silenceMs, 2 ** 31 - 1));
      timer.unref();
    };
    const random = this.o.random ?? Math.random;
    const timeoutSeconds = this.o.watchTimeoutSeconds?.() ?? Math.floor(300 + random() * 300);
    let progressed = false;
    try {
      for await (const ev of this.o.client.watch<T>(this.o.ref, {
        ...(this.o.namespace ? { namespace: this.o.namespace } : {}),
        ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}),
        ...(this.o.fieldSelector ? { fieldSelector: this.o.fieldSelector } : {}),
        ...(this.lastRv !== undefined ? { resourceVersion: this.lastRv } : {}),
        allowWatchBookmarks: true,
        timeoutSeconds,
        signal,
      })) {
        kick();
        const outcome = this.apply(ev);
        if (outcome === 'gone') return { kind: 'gone' };
        progressed = true;
      }
    } catch (e) {
      if (watchdog.signal.aborted && !parent.aborted) return { kind: 'silent', progressed };
      if (parent.aborted) return { kind: 'closed', progressed };
      if (progressed && KubeApiError.is(e) && e.code === 0) {
        // A connection dropped after progress: resume at once from where we are.
        return { kind: 'closed', progressed };
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (watchdog.signal.aborted && !parent.aborted) return { kind: 'silent', progressed };
    return { kind: 'closed', progressed };
  }

  private apply(ev: WatchEvent<T>): 'ok' | 'gone' {
    this.o.metrics?.eventReceived(this.o.ref.plural, ev.type);
    if (ev.type === 'ERROR') {
      const status = ev.object as unknown as ApiStatus;
      const err = KubeApiError.fromResponse(status.code ?? 500, status);
      if (isGone(err)) return 'gone';
      throw err;
    }
    const rv = ev.object?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.lastRv = rv;
      return 'ok';
    }
    const obj = stripManagedFields(ev.object);
    if (ev.type !== 'DELETED' && isOlder(obj, this.cache.get(objectKey(obj)))) {
      // A paged list can hand out an object newer than the list's resourceVersion; the watch then replays an
      // older state of it. Never move the cache backwards.
      if (rv) this.lastRv = rv;
      return 'ok';
    }
    const d = ev.type === 'DELETED' ? this.cache.remove(obj) : this.cache.upsert(obj);
    if (rv) this.lastRv = rv;
    if (d) this.dispatch(d);
    return 'ok';
  }
}

/**
 * Shares informers: one list+watch per (resource, namespace, label selector, field selector), however many
 * controllers ask for it.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/meta.js';
import type { KubeClient } from '../kube-client.js';
import type { ResourceRef } from '../resource-ref.js';
import { SharedInformer, type InformerMetrics, type InformerOptions } from './shared-informer.js';

export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerFactoryOptions {
  client: KubeClient;
  logger?: Logger;
  metrics?: InformerMetrics;
  /** Passed to every informer (tests shorten them). */
  tuning?: Pick<InformerOptions, 'watchSilenceTimeoutMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'watchTimeoutSeconds'>;
}

export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer>();
  private readonly running = new Map<string, Promise<void>>();
  private signal: AbortSignal | undefined;

  constructor(private readonly o: InformerFactoryOptions) {}

  informerFor<T extends KubeObject = KubeObject>(ref: ResourceRef, scope: InformerScope = {}): SharedInformer<T> {
    const key = [ref.group, ref.version, ref.plural, scope.namespace ?? '', scope.labelSelector ?? '', scope.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new SharedInformer({
        client: this.o.client, ref, ...scope,
        ...(this.o.logger ? { logger: this.o.logger } : {}),
        ...(this.o.metrics ? { metrics: this.o.metrics } : {}),
        ...this.o.tuning,
      });
      this.informers.set(key, inf);
      // An informer asked for after start() starts at once.
      if (this.signal && !this.signal.aborted) this.running.set(key, inf.start(this.signal));
    }
    return inf as unknown as SharedInformer<T>;
  }

  /** Starts every informer made so far (and any made later); resolves when all have stopped after abort. */
  async start(parent: AbortSignal): Promise<void> {
    // One child signal for every informer's lists and watches: each request listens on it while in flight, and
    // many informers legitimately have more than Node's default 10 listeners between them.
    const child = new AbortController();
    setMaxListeners(0, child.signal);
    if (parent.aborted) child.abort(parent.reason);
    else parent.addEventListener('abort', () => child.abort(parent.reason), { once: true });
    const signal = child.signal;
    this.signal = signal;
    for (const [key, inf] of this.informers) if (!this.running.has(key)) this.running.set(key, inf.start(signal));
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.all(this.running.values());
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** Names of informers not yet synced, for /readyz. */
  unsynced(): string[] {
    return [...this.informers.entries()].filter(([, i]) => !i.hasSynced()).map(([k]) => k);
  }
}

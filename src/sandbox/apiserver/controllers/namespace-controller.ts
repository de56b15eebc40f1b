/**
 * Namespace deletion: a namespace marked for deletion (phase Terminating) has all its content deleted; once
 * nothing is left (objects with finalizers hold it, as on a real cluster) the namespace itself goes.
 */
import { ApiError } from '../api-error.js';
import type { ResourceRegistry } from '../resource-registry.js';
import { resourceKey } from '../resource-type.js';
import type { ResourceService } from '../rest/resource-service.js';
import { systemContext } from '../rest/request-context.js';
import type { StorageEvent } from '../storage/storage.js';
import { RetryQueue } from './retry-queue.js';

const NAMESPACES = '/namespaces';

export class NamespaceController {
  private readonly queue: RetryQueue;
  private readonly unsubscribe: () => void;

  constructor(private readonly svc: ResourceService, private readonly registry: ResourceRegistry, onError?: (key: string, e: unknown) => void) {
    this.queue = new RetryQueue((ns) => this.sync(ns), onError ? { onError } : {});
    this.unsubscribe = svc.storage.subscribe((e) => this.observe(e));
    for (const e of svc.storage.list(NAMESPACES)) if (e.object.metadata.deletionTimestamp) this.queue.add(e.object.metadata.name ?? '');
  }

  idle(): Promise<void> { return this.queue.idle(); }

  close(): void { this.unsubscribe(); this.queue.close(); }

  private observe(e: StorageEvent): void {
    if (e.key === NAMESPACES) {
      if (e.type !== 'DELETED' && e.entry.object.metadata.deletionTimestamp) this.queue.add(e.entry.object.metadata.name ?? '');
      return;
    }
    const ns = e.entry.object.metadata.namespace;
    if (e.type === 'DELETED' && ns) {
      const nsEntry = this.svc.storage.get(NAMESPACES, '', ns);
      if (nsEntry?.object.metadata.deletionTimestamp) this.queue.add(ns);
    }
  }

  private async sync(name: string): Promise<void> {
    const nsType = this.registry.lookup('', 'v1', 'namespaces')!;
    const nsEntry = this.svc.storage.get(NAMESPACES, '', name);
    if (!nsEntry || !nsEntry.object.metadata.deletionTimestamp) return;
    let remaining = 0;
    const seen = new Set<string>();
    for (const t of this.registry.all()) {
      if (!t.namespaced) continue;
      const key = resourceKey(t);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const e of this.svc.storage.list(key, { namespace: name })) {
        remaining++;
        if (e.object.metadata.deletionTimestamp) continue;
        try {
          await this.svc.delete(t, name, e.object.metadata.name ?? '', { propagationPolicy: 'Background', gracePeriodSeconds: 0 }, systemContext());
        } catch (err) {
          if (!(ApiError.is(err) && err.code === 404)) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Deleting content emits DELETED events that re-queue this namespace; nothing more to do now.
      return;
    }
    const fresh = this.svc.storage.get(NAMESPACES, '', name);
    if (fresh && (fresh.object.metadata.finalizers ?? []).length === 0) this.svc.finalizeRemoval(nsType, fresh);
  }
}

/**
 * ownerReference garbage collection, as kube-controller-manager's GC does it:
 * - background: an object whose owners are all gone is deleted; one that lost only some owners loses those refs;
 * - foreground: an owner marked with the `foregroundDeletion` finalizer has its dependents deleted first, and the
 *   finalizer is removed once no dependent with `blockOwnerDeletion: true` remains;
 * - orphan: an owner marked with the `orphan` finalizer has its refs removed from every dependent, then goes.
 * Deletions go through the REST layer (with admission), like any other client's.
 */
import type { KubeObject, OwnerReference } from '../../../api/meta.js';
import { ApiError } from '../api-error.js';
import type { ResourceRegistry } from '../resource-registry.js';
import type { ResourceType } from '../resource-type.js';
import type { ResourceService } from '../rest/resource-service.js';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN } from '../rest/resource-service.js';
import { systemContext } from '../rest/request-context.js';
import type { StorageEvent } from '../storage/storage.js';
import { RetryQueue } from './retry-queue.js';

interface Ref { key: string; namespace: string; name: string }

const refId = (r: Ref): string => `${r.key}|${r.namespace}|${r.name}`;
const parseRefId = (id: string): Ref => {
  const [key, namespace, name] = id.split('|') as [string, string, string];
  return { key, namespace, name };
};

export class GarbageCollector {
  private readonly byUid = new Map<string, Ref>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue: RetryQueue;
  private readonly unsubscribe: () => void;

  constructor(private readonly svc: ResourceService, private readonly registry: ResourceRegistry, onError?: (key: string, e: unknown) => void) {
    this.queue = new RetryQueue((k) => this.work(k), onError ? { onError } : {});
    for (const t of registry.all()) {
      for (const e of svc.storage.list(`${t.group}/${t.plural}`)) this.index(e.object, `${t.group}/${t.plural}`);
    }
    this.unsubscribe = svc.storage.subscribe((e) => this.observe(e));
  }

  idle(): Promise<void> { return this.queue.idle(); }

  close(): void { this.unsubscribe(); this.queue.close(); }

  private index(obj: KubeObject, key: string): void {
    const ref: Ref = { key, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
    if (obj.metadata.uid) this.byUid.set(obj.metadata.uid, ref);
    for (const o of obj.metadata.ownerReferences ?? []) {
      let s = this.dependents.get(o.uid);
      if (!s) { s = new Set(); this.dependents.set(o.uid, s); }
      s.add(refId(ref));
    }
  }

  private unindexOwners(obj: KubeObject, key: string): void {
    const id = refId({ key, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
    for (const o of obj.metadata.ownerReferences ?? []) {
      const s = this.dependents.get(o.uid);
      s?.delete(id);
      if (s && s.size === 0) this.dependents.delete(o.uid);
    }
  }

  private observe(e: StorageEvent): void {
    const obj = e.entry.object;
    const ref: Ref = { key: e.key, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
    if (e.previous) this.unindexOwners(e.previous.object, e.key);
    if (e.type === 'DELETED') {
      if (obj.metadata.uid) this.byUid.delete(obj.metadata.uid);
      for (const dep of this.dependents.get(obj.metadata.uid ?? '') ?? []) this.queue.add(`dep:${dep}`);
      // An owner waiting in foreground deletion re-checks when one of its dependents goes.
      for (const o of obj.metadata.ownerReferences ?? []) {
        const owner = this.byUid.get(o.uid);
        if (owner) this.queue.add(`owner:${refId(owner)}`);
      }
      return;
    }
    this.index(obj, e.key);
    if ((obj.metadata.ownerReferences ?? []).length > 0) this.queue.add(`dep:${refId(ref)}`);
    const fins = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && (fins.includes(FINALIZER_ORPHAN) || fins.includes(FINALIZER_FOREGROUND))) {
      this.queue.add(`owner:${refId(ref)}`);
    }
  }

  private typeOf(key: string): ResourceType | undefined {
    return this.registry.byKey(key);
  }

  private current(ref: Ref): { t: ResourceType; obj: KubeObject } | undefined {
    const t = this.typeOf(ref.key);
    if (!t) return undefined;
    const e = this.svc.storage.get(ref.key, ref.namespace, ref.name);
    return e ? { t, obj: e.object } : undefined;
  }

  private ownerObject(o: OwnerReference): KubeObject | undefined {
    const ref = this.byUid.get(o.uid);
    if (!ref) return undefined;
    const e = this.svc.storage.get(ref.key, ref.namespace, ref.name);
    return e && e.object.metadata.uid === o.uid ? e.object : undefined;
  }

  private async work(item: string): Promise<void> {
    const sep = item.indexOf(':');
    const kind = item.slice(0, sep);
    const ref = parseRefId(item.slice(sep + 1));
    if (kind === 'dep') await this.checkDependent(ref);
    else await this.processOwner(ref);
  }

  private async checkDependent(ref: Ref): Promise<void> {
    const cur = this.current(ref);
    if (!cur) return;
    const { t, obj } = cur;
    const owners = obj.metadata.ownerReferences ?? [];
    if (owners.length === 0) return;
    const absent = owners.filter((o) => this.ownerObject(o) === undefined);
    const foregroundOwner = owners.some((o) => {
      const owner = this.ownerObject(o);
      return owner?.metadata.deletionTimestamp !== undefined && (owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND);
    });
    if (absent.length === owners.length || (foregroundOwner && absent.length + 1 >= owners.length)) {
      if (obj.metadata.deletionTimestamp) return;
      await this.ignoreNotFound(this.svc.delete(t, ref.namespace, ref.name, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid ?? '' } }, systemContext()));
      return;
    }
    if (absent.length > 0) {
      const remaining = owners.filter((o) => !absent.includes(o));
      await this.ignoreNotFound(this.svc.patch(t, ref.namespace, ref.name, 'merge', { metadata: { ownerReferences: remaining, resourceVersion: obj.metadata.resourceVersion } }, systemContext()));
    }
  }

  private async processOwner(ref: Ref): Promise<void> {
    const cur = this.current(ref);
    if (!cur || !cur.obj.metadata.deletionTimestamp) return;
    const { t, obj } = cur;
    const uid = obj.metadata.uid ?? '';
    const fins = obj.metadata.finalizers ?? [];
    const deps = [...(this.dependents.get(uid) ?? [])].map(parseRefId).map((r) => ({ r, cur: this.current(r) }))
      .filter((d) => d.cur !== undefined && (d.cur.obj.metadata.ownerReferences ?? []).some((o) => o.uid === uid));
    if (fins.includes(FINALIZER_ORPHAN)) {
      for (const d of deps) {
        const o = d.cur!.obj;
        const remaining = (o.metadata.ownerReferences ?? []).filter((x) => x.uid !== uid);
        await this.ignoreNotFound(this.svc.patch(d.cur!.t, d.r.namespace, d.r.name, 'merge', { metadata: { ownerReferences: remaining.length ? remaining : null } }, systemContext()));
      }
      await this.removeFinalizer(t, obj, FINALIZER_ORPHAN);
      return;
    }
    if (fins.includes(FINALIZER_FOREGROUND)) {
      let blocking = 0;
      for (const d of deps) {
        const o = d.cur!.obj;
        const ownerRef = (o.metadata.ownerReferences ?? []).find((x) => x.uid === uid);
        if (ownerRef?.blockOwnerDeletion === true) blocking++;
        if (!o.metadata.deletionTimestamp) {
          await this.ignoreNotFound(this.svc.delete(d.cur!.t, d.r.namespace, d.r.name, { propagationPolicy: 'Foreground' }, systemContext()));
        }
      }
      if (blocking === 0) await this.removeFinalizer(t, obj, FINALIZER_FOREGROUND);
    }
  }

  private async removeFinalizer(t: ResourceType, obj: KubeObject, finalizer: string): Promise<void> {
    const next = structuredClone(obj);
    next.metadata.finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.ignoreNotFound(this.svc.update(t, obj.metadata.namespace ?? '', obj.metadata.name ?? '', next, systemContext()));
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try { await p; } catch (e) {
      if (ApiError.is(e) && e.code === 404) return;
      throw e;
    }
  }
}

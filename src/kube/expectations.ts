/**
 * Expectations (spec §0.5): what a controller has asked the API server to do and has not yet seen in its cache.
 * A reconcile that acted on a lagging cache would act twice (create a second surge pod, delete one pod too many),
 * so while any expectation of an owner is pending its reconcile does nothing and requeues after the remaining time.
 *
 * Four kinds, per owner key (`namespace/name` of the CloneSet, SidecarSet, ...), each per owned object name:
 * - `create` / `delete`: recorded before the API call, cleared when the informer reports the create / the delete
 *   (an object that merely gains a deletionTimestamp counts as deleted: call `deletionObserved` then), rolled back
 *   with `creationFailed` / `deletionFailed` when the call fails.
 * - `update`: after an in-place update the object must carry the target revision. As in Kruise, expecting a new
 *   revision drops the owner's update expectations for older ones.
 * - `resourceVersion`: after a patch the cache must show at least that resourceVersion.
 *
 * One instance per controller instance; there is no module-level state (STYLE habit 13, A3). Time is passed in, so
 * callers and tests decide what `now` is. The timeout counts from the moment a kind went from nothing pending to
 * something pending (Kruise counts from the first check that found it unsatisfied; recording at expect time does not
 * depend on how often reconciles run).
 */

export type ExpectationKind = 'create' | 'delete' | 'update' | 'resourceVersion';

export const ALL_EXPECTATION_KINDS: readonly ExpectationKind[] = Object.freeze(['create', 'delete', 'update', 'resourceVersion']);

export interface ExpectationsOptions {
  /** How long an owner may stay unsatisfied before `satisfied` reports `timedOut`. @default 300_000 (5 min) */
  timeoutMs?: number;
}

export interface PendingExpectations {
  create: string[];
  delete: string[];
  update: string[];
  resourceVersion: string[];
}

export interface SatisfiedResult {
  satisfied: boolean;
  /** Set when unsatisfied for at least the timeout: the caller logs a warning and returns without requeue. */
  timedOut?: boolean;
  /** When unsatisfied and not timed out: requeue after this long (timeout − elapsed). */
  remainingMs?: number;
  /** When unsatisfied: the names still pending, for the log line. */
  pending?: PendingExpectations;
}

interface OwnerExpectations {
  create: Set<string>;
  delete: Set<string>;
  /** name → revision it must show. */
  update: Map<string, string>;
  /** The revision `update` expectations are for. */
  updateRevision: string | undefined;
  /** name → minimum resourceVersion. */
  resourceVersion: Map<string, string>;
  /** When each kind last went from empty to non-empty. */
  since: Map<ExpectationKind, number>;
}

/**
 * Compares two resourceVersions. Kubernetes calls them opaque, but etcd-backed servers (and our sandbox) use
 * decimal revisions, which Kruise compares as integers. Returns undefined when either is not a decimal integer and
 * they differ: then we cannot tell which is newer and keep waiting (the timeout bounds that).
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (a === b) return 0;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class ControllerExpectations {
  readonly timeoutMs: number;
  private readonly owners = new Map<string, OwnerExpectations>();

  constructor(o: ExpectationsOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 300_000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${this.timeoutMs}`);
  }

  /** Records that `names` are about to be created for `ownerKey`. Call before the API calls. */
  expectCreations(ownerKey: string, names: readonly string[], now: number): void {
    if (names.length === 0) return;
    const o = this.owner(ownerKey);
    this.markPending(o, 'create', now);
    for (const n of names) o.create.add(n);
  }

  /** Records that `names` are about to be deleted. Call before the API calls. */
  expectDeletions(ownerKey: string, names: readonly string[], now: number): void {
    if (names.length === 0) return;
    const o = this.owner(ownerKey);
    this.markPending(o, 'delete', now);
    for (const n of names) o.delete.add(n);
  }

  /** The informer reported the object `name` (add event). */
  creationObserved(ownerKey: string, name: string): void {
    this.clear(ownerKey, (o) => { o.create.delete(name); });
  }

  /** The create call for `name` failed: it will never be observed. */
  creationFailed(ownerKey: string, name: string): void { this.creationObserved(ownerKey, name); }

  /**
   * The informer reported `name` deleted, or terminating (deletionTimestamp set). Its update and resourceVersion
   * expectations go too: a deleted object will never show them.
   */
  deletionObserved(ownerKey: string, name: string): void {
    this.clear(ownerKey, (o) => {
      o.delete.delete(name);
      o.update.delete(name);
      o.resourceVersion.delete(name);
    });
  }

  /** The delete call for `name` failed. */
  deletionFailed(ownerKey: string, name: string): void {
    this.clear(ownerKey, (o) => { o.delete.delete(name); });
  }

  /** After an in-place update of `name` to `revision`: wait until the cache shows that revision. */
  expectUpdate(ownerKey: string, name: string, revision: string, now: number): void {
    const o = this.owner(ownerKey);
    if (o.updateRevision !== revision) {
      o.update.clear();
      o.since.delete('update');
      o.updateRevision = revision;
    }
    this.markPending(o, 'update', now);
    o.update.set(name, revision);
  }

  /** The cache shows `name` at `revision`; clears its update expectation if that is the expected one. */
  observeUpdate(ownerKey: string, name: string, revision: string): void {
    this.clear(ownerKey, (o) => { if (o.update.get(name) === revision) o.update.delete(name); });
  }

  /** After a write to `name` that returned `resourceVersion`: wait until the cache shows at least that version. */
  expectResourceVersion(ownerKey: string, name: string, resourceVersion: string, now: number): void {
    const o = this.owner(ownerKey);
    const current = o.resourceVersion.get(name);
    if (current !== undefined && compareResourceVersions(current, resourceVersion) === 1) return;
    this.markPending(o, 'resourceVersion', now);
    o.resourceVersion.set(name, resourceVersion);
  }

  /** The cache shows `name` at `resourceVersion`. */
  observeResourceVersion(ownerKey: string, name: string, resourceVersion: string): void {
    this.clear(ownerKey, (o) => {
      const expected = o.resourceVersion.get(name);
      if (expected === undefined) return;
      const c = compareResourceVersions(resourceVersion, expected);
      if (c === 0 || c === 1) o.resourceVersion.delete(name);
    });
  }

  /**
   * Whether the owner's reconcile may act, considering `kinds` (default all). CloneSet, for example, checks
   * create/delete/update first and handles a timed-out resourceVersion expectation by dropping it.
   */
  satisfied(ownerKey: string, now: number, kinds: readonly ExpectationKind[] = ALL_EXPECTATION_KINDS): SatisfiedResult {
    const o = this.owners.get(ownerKey);
    if (!o) return { satisfied: true };
    let since: number | undefined;
    for (const k of kinds) {
      if (sizeOf(o, k) === 0) continue;
      const s = o.since.get(k) ?? now;
      since = since === undefined ? s : Math.min(since, s);
    }
    if (since === undefined) return { satisfied: true };
    const elapsed = Math.max(0, now - since);
    const pending = pendingOf(o, kinds);
    if (elapsed >= this.timeoutMs) return { satisfied: false, timedOut: true, pending };
    return { satisfied: false, timedOut: false, remainingMs: this.timeoutMs - elapsed, pending };
  }

  /** Drops the owner's expectations of `kinds` (default all): the owner was deleted, or a timed-out kind is given up. */
  delete(ownerKey: string, kinds: readonly ExpectationKind[] = ALL_EXPECTATION_KINDS): void {
    this.clear(ownerKey, (o) => {
      for (const k of kinds) {
        if (k === 'create') o.create.clear();
        else if (k === 'delete') o.delete.clear();
        else if (k === 'update') { o.update.clear(); o.updateRevision = undefined; } else o.resourceVersion.clear();
        o.since.delete(k);
      }
    });
  }

  /** Owners with something pending (for tests and debugging). */
  ownerKeys(): string[] { return [...this.owners.keys()]; }

  private owner(ownerKey: string): OwnerExpectations {
    let o = this.owners.get(ownerKey);
    if (!o) {
      o = { create: new Set(), delete: new Set(), update: new Map(), updateRevision: undefined, resourceVersion: new Map(), since: new Map() };
      this.owners.set(ownerKey, o);
    }
    return o;
  }

  /** Starts the kind's clock unless something of that kind is already pending. */
  private markPending(o: OwnerExpectations, kind: ExpectationKind, now: number): void {
    if (!o.since.has(kind)) o.since.set(kind, now);
  }

  private clear(ownerKey: string, change: (o: OwnerExpectations) => void): void {
    const o = this.owners.get(ownerKey);
    if (!o) return;
    change(o);
    for (const k of ALL_EXPECTATION_KINDS) if (sizeOf(o, k) === 0) o.since.delete(k);
    if (o.create.size === 0 && o.delete.size === 0 && o.update.size === 0 && o.resourceVersion.size === 0) {
      this.owners.delete(ownerKey);
    }
  }
}

function sizeOf(o: OwnerExpectations, kind: ExpectationKind): number {
  switch (kind) {
    case 'create': return o.create.size;
    case 'delete': return o.delete.size;
    case 'update': return o.update.size;
    case 'resourceVersion': return o.resourceVersion.size;
  }
}

function pendingOf(o: OwnerExpectations, kinds: readonly ExpectationKind[]): PendingExpectations {
  const has = (k: ExpectationKind): boolean => kinds.includes(k);
  return {
    create: has('create') ? [...o.create].sort() : [],
    delete: has('delete') ? [...o.delete].sort() : [],
    update: has('update') ? [...o.update.keys()].sort() : [],
    resourceVersion: has('resourceVersion') ? [...o.resourceVersion.keys()].sort() : [],
  };
}

/**
 * The CloneSet controller (spec §2-§6): a Reconciler over `namespace/name` of CloneSets. One reconcile:
 * 1. nothing while the CloneSet is being deleted (its Pods go with it through garbage collection);
 * 2. expectations (§0.5): while a create, delete or in-place update of ours is not yet in the cache, wait;
 * 3. revisions (revisions-executor.ts), then image pre-download (predownload-executor.ts; errors only logged);
 * 4. Scale (scale-executor.ts); only when it wrote nothing, Update (update-executor.ts) — scale before update;
 * 5. status through `/status` when it changed (status-writer.ts), FailedScale/FailedUpdate on errors;
 * 6. names of vanished Pods are pruned from `scaleStrategy.podsToDelete`;
 * 7. requeue when a ready Pod becomes available after minReadySeconds, or an in-place update grace period ends.
 *
 * Event handlers only clear expectations and enqueue the owning CloneSet's key. Pods are found through the
 * informer's controller-uid index.
 *
 * Differences from v0.9.0: a timed-out expectation is dropped and the reconcile acts on the cache (upstream returns
 * and stays stuck until the next event); orphaned Pods are not adopted (known gap).
 */
import type { Logger } from 'pino';
import type { CloneSet } from '../../api/cloneset-types.js';
import { defaultCloneSet } from '../../api/defaults/cloneset-defaults.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import { GROUP, KIND_CLONESET } from '../../api/group-version.js';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import type { PersistentVolumeClaim } from '../../api/pvc-types.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../../api/well-known-keys.js';
import {
  Controller, ControllerExpectations, INDEX_CONTROLLER_UID, INDEX_NAMESPACE, isNotFound, resources, updateWithRetry,
  type ManagerContext, type ReconcileContext, type ReconcileResult, type Reconciler, type SharedInformer,
} from '../../kube/index.js';
import { isPodActive } from './pod-state.js';
import { syncPreDownload } from './predownload-executor.js';
import type { ControllerRevision } from './revision.js';
import { syncRevisions } from './revisions-executor.js';
import { syncScale, type ScaleResult } from './scale-executor.js';
import { computeStatus, minReadyRequeueMs } from './status.js';
import { setFailureCondition, writeStatus } from './status-writer.js';
import type { CloneSetSyncContext } from './sync-context.js';
import { syncUpdate } from './update-executor.js';

export const CLONESET_CONTROLLER_NAME = 'cloneset';

export interface CloneSetControllerOptions {
  /** Upstream `--cloneset-workers`. @default 3 */
  workers?: number;
  /** Pod/PVC creations or deletions, or Pod updates (in-place, refresh), in flight at once. @default 16 */
  writeConcurrency?: number;
  /** Upstream `--expectation-timeout` (spec §0.5). @default 300_000 */
  expectationTimeoutMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
  /** In [0, 1), for instance ids. @default Math.random */
  random?: () => number;
}

interface CompiledOptions {
  readonly workers: number;
  readonly writeConcurrency: number;
  readonly expectationTimeoutMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

function compileOptions(o: CloneSetControllerOptions): Readonly<CompiledOptions> {
  const positiveInt = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`cloneset controller: ${name} must be a positive integer, got ${x}`);
    return x;
  };
  const timeout = o.expectationTimeoutMs ?? 300_000;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError(`cloneset controller: expectationTimeoutMs must be positive, got ${timeout}`);
  return Object.freeze({
    workers: positiveInt(o.workers, 3, 'workers'),
    writeConcurrency: positiveInt(o.writeConcurrency, 16, 'writeConcurrency'),
    expectationTimeoutMs: timeout,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  });
}

export interface CloneSetInformers {
  cloneSets: SharedInformer<CloneSet>;
  pods: SharedInformer<KubeObject>;
  revisions: SharedInformer<KubeObject>;
  pvcs: SharedInformer<KubeObject>;
  /** Only when pre-download can be on (PreDownloadImageForInPlaceUpdate and KruiseDaemon). */
  imagePullJobs?: SharedInformer<ImagePullJob>;
}

/** `namespace/name` of the CloneSet controlling `obj`, if one does. */
export function owningCloneSetKey(obj: KubeObject): string | undefined {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref || ref.kind !== KIND_CLONESET || !ref.apiVersion.startsWith(`${GROUP}/`)) return undefined;
  return `${obj.metadata.namespace ?? ''}/${ref.name}`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class CloneSetReconciler implements Reconciler {
  readonly expectations: ControllerExpectations;
  private readonly o: Readonly<CompiledOptions>;

  constructor(private readonly ctx: ManagerContext, private readonly inf: CloneSetInformers,
    private readonly gates: Pick<FeatureGates, 'enabled'>, options: CloneSetControllerOptions = {}) {
    this.o = compileOptions(options);
    this.expectations = new ControllerExpectations({ timeoutMs: this.o.expectationTimeoutMs });
  }

  get options(): Readonly<CompiledOptions> { return this.o; }

  async reconcile(key: string, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const cached = this.inf.cloneSets.cache.getByName(ns, name);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    if (cached.metadata.deletionTimestamp) return;
    const now = this.o.now();
    const uid = cached.metadata.uid ?? '';

    this.sweepExpectations(key, ns);
    const exp = this.expectations.satisfied(key, now);
    if (!exp.satisfied) {
      if (!exp.timedOut) {
        rc.logger.debug({ pending: exp.pending }, 'waiting for expectations');
        return { requeueAfterMs: exp.remainingMs ?? 1000 };
      }
      rc.logger.warn({ pending: exp.pending }, 'expectations timed out; acting on the cache');
      this.expectations.delete(key);
    }

    const cs = defaultCloneSet(cached);
    const allPods = this.inf.pods.cache.byIndex(INDEX_CONTROLLER_UID, uid) as unknown as Pod[];
    const pods = allPods.filter(isPodActive);
    const pvcs = this.inf.pvcs.cache.byIndex(INDEX_CONTROLLER_UID, uid) as unknown as PersistentVolumeClaim[];
    const nsRevisions = this.inf.revisions.cache.byIndex(INDEX_NAMESPACE, ns) as unknown as ControllerRevision[];
    const s: CloneSetSyncContext = {
      client: this.ctx.client, recorder: this.ctx.recorder, expectations: this.expectations, gates: this.gates, key,
      cs, pods, now, rc, random: this.o.random, writeConcurrency: this.o.writeConcurrency,
    };

    const revs = await syncRevisions(s, nsRevisions, pods);
    if (this.inf.imagePullJobs) {
      try {
        await syncPreDownload(s, revs, this.inf.imagePullJobs.cache.byIndex(INDEX_NAMESPACE, ns));
      } catch (e) {
        rc.logger.warn({ err: e }, 'image pre-download failed');
      }
    }

    let scaleError: unknown;
    let updateError: unknown;
    let scale: ScaleResult | undefined;
    let graceRequeueMs: number | undefined;
    try {
      scale = await syncScale(s, revs, pvcs);
    } catch (e) {
      scaleError = e;
    }
    if (scale && !scale.modified) {
      try {
        graceRequeueMs = (await syncUpdate(s, revs, scale.diffs)).requeueAfterMs;
      } catch (e) {
        updateError = e;
      }
    }

    const status = computeStatus({
      cloneSet: cs, pods: allPods, updateRevision: revs.update.metadata.name ?? '',
      currentRevision: revs.current.metadata.name ?? '', collisionCount: revs.collisionCount, now,
    });
    if (scaleError !== undefined) setFailureCondition(status, 'FailedScale', errorMessage(scaleError), now);
    if (updateError !== undefined) setFailureCondition(status, 'FailedUpdate', errorMessage(updateError), now);
    await writeStatus(this.ctx.client, cached, status, rc.signal);
    await this.prunePodsToDelete(cached, allPods, rc);

    if (scaleError !== undefined) throw scaleError;
    if (updateError !== undefined) throw updateError;
    const waits = [minReadyRequeueMs(cs, pods, now), graceRequeueMs].filter((ms): ms is number => ms !== undefined);
    const requeueAfterMs = waits.length > 0 ? Math.min(...waits) : undefined;
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  /**
   * Clears pending expectations the cache already satisfies. The handlers do this on each event; the sweep covers
   * events that came before the expectation was recorded (a fast informer) or were coalesced by a relist.
   */
  private sweepExpectations(key: string, ns: string): void {
    const pending = this.expectations.satisfied(key, this.o.now()).pending;
    if (!pending) return;
    const find = (n: string): KubeObject | undefined => this.inf.pods.cache.getByName(ns, n) ?? this.inf.pvcs.cache.getByName(ns, n);
    for (const n of pending.create) if (find(n)) this.expectations.creationObserved(key, n);
    for (const n of pending.delete) {
      const o = find(n);
      if (!o || o.metadata.deletionTimestamp) this.expectations.deletionObserved(key, n);
    }
    for (const n of [...pending.update, ...pending.resourceVersion]) {
      const p = this.inf.pods.cache.getByName(ns, n);
      if (!p) {
        this.expectations.deletionObserved(key, n);
        continue;
      }
      this.observePod(key, p);
    }
  }

  /** Clears the update and resourceVersion expectations a Pod version satisfies. */
  observePod(key: string, pod: KubeObject): void {
    const name = pod.metadata.name ?? '';
    const label = pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
    if (label !== undefined) this.expectations.observeUpdate(key, name, label);
    if (pod.metadata.resourceVersion) this.expectations.observeResourceVersion(key, name, pod.metadata.resourceVersion);
    if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, name);
  }

  /** §2.4: names in podsToDelete that are no longer an active Pod of this CloneSet leave the spec. */
  private async prunePodsToDelete(cached: CloneSet, allPods: readonly Pod[], rc: ReconcileContext): Promise<void> {
    const names = cached.spec.scaleStrategy?.podsToDelete ?? [];
    if (names.length === 0) return;
    const active = new Set(allPods.filter(isPodActive).map((p) => p.metadata.name ?? ''));
    if (names.every((n) => active.has(n))) return;
    let pruned: string[] = [];
    try {
      await updateWithRetry<CloneSet>(this.ctx.client, resources.cloneSets, cached.metadata.namespace ?? '', cached.metadata.name ?? '', (fresh) => {
        if (fresh.metadata.uid !== cached.metadata.uid) return undefined;
        const list = fresh.spec.scaleStrategy?.podsToDelete ?? [];
        const kept = list.filter((n) => active.has(n));
        pruned = list.filter((n) => !active.has(n));
        if (pruned.length === 0) return undefined;
        return { ...fresh, spec: { ...fresh.spec, scaleStrategy: { ...fresh.spec.scaleStrategy, podsToDelete: kept } } };
      }, { signal: rc.signal });
      if (pruned.length > 0) rc.logger.info({ pruned }, 'pruned vanished pods from podsToDelete');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Builds the controller and wires its handlers (which clear expectations and enqueue keys, nothing else). */
export function newCloneSetController(
  ctx: ManagerContext, inf: CloneSetInformers, gates: Pick<FeatureGates, 'enabled'>,
  options: CloneSetControllerOptions = {}, logger: Logger = ctx.logger,
): { controller: Controller; reconciler: CloneSetReconciler } {
  const reconciler = new CloneSetReconciler(ctx, inf, gates, options);
  const controller = new Controller({
    name: CLONESET_CONTROLLER_NAME, reconciler, workers: reconciler.options.workers, logger, metrics: ctx.metrics,
  });
  const exp = reconciler.expectations;
  const enqueueSelf = (cs: KubeObject): void => controller.enqueue(`${cs.metadata.namespace ?? ''}/${cs.metadata.name ?? ''}`);
  inf.cloneSets.addHandler({ onAdd: enqueueSelf, onUpdate: (_o, cs) => enqueueSelf(cs), onDelete: enqueueSelf });

  const owned = (onEvent: (key: string, obj: KubeObject) => void) => (obj: KubeObject): void => {
    const key = owningCloneSetKey(obj);
    if (key === undefined) return;
    onEvent(key, obj);
    controller.enqueue(key);
  };
  inf.pods.addHandler({
    onAdd: owned((key, p) => { exp.creationObserved(key, p.metadata.name ?? ''); reconciler.observePod(key, p); }),
    onUpdate: (old, p) => {
      owned((key, obj) => reconciler.observePod(key, obj))(p);
      // A Pod released by its CloneSet: the old owner recounts.
      const oldKey = owningCloneSetKey(old);
      if (oldKey !== undefined && oldKey !== owningCloneSetKey(p)) controller.enqueue(oldKey);
    },
    onDelete: owned((key, p) => exp.deletionObserved(key, p.metadata.name ?? '')),
  });
  inf.pvcs.addHandler({
    onAdd: owned((key, c) => {
      exp.creationObserved(key, c.metadata.name ?? '');
      if (c.metadata.deletionTimestamp) exp.deletionObserved(key, c.metadata.name ?? '');
    }),
    onUpdate: (_o, c) => owned((key, obj) => { if (obj.metadata.deletionTimestamp) exp.deletionObserved(key, obj.metadata.name ?? ''); })(c),
    onDelete: owned((key, c) => exp.deletionObserved(key, c.metadata.name ?? '')),
  });
  const justEnqueue = owned(() => undefined);
  inf.revisions.addHandler({ onAdd: justEnqueue, onUpdate: (_o, r) => justEnqueue(r), onDelete: justEnqueue });
  inf.imagePullJobs?.addHandler({ onAdd: justEnqueue, onUpdate: (_o, j) => justEnqueue(j), onDelete: justEnqueue });
  return { controller, reconciler };
}

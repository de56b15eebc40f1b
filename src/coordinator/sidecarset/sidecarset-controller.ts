/**
 * The SidecarSet controller's executor (spec §7.3): a Reconciler over SidecarSet names, fed by informers on
 * SidecarSets and Pods. One reconcile:
 * 1. step 3, as expectations: after updating a Pod it waits until the Pod cache shows that resourceVersion (requeue
 *    after at most 1 s), so a lagging cache can neither miscount status nor pick the same Pod twice;
 * 2. `planSidecarSet` on the cached Pods, each seen through `planningView` (a Pod waiting for the agent to finish a
 *    hot-upgrade swap counts as not ready);
 * 3. the status via `/status`, only when `statusChanged`;
 * 4. each Pod the plan chose: a fresh read, `sidecarPodUpgrade` on it, a full PUT, retried on conflict. ColdUpgrade
 *    containers get their new image (the kubelet restarts them); HotUpgrade sidecars get the swap request annotation
 *    instead (hot-upgrade-request.ts documents the format and the contract with the agent).
 *
 * Deliberately not done here: the hot-upgrade reset pass (§7.3 step 4, §7.5 step 4). In kruise-ts the agent that ran
 * the swap resets the old container once it has confirmed the new one through the CRI; a second writer here would
 * race it. So `reset` actions of the plan are ignored (logged at debug). A Pod with a request counts as
 * updated-but-not-ready until its agent (src/agent/hotupgrade) removes the request, so a HotUpgrade rollout
 * advances at most `maxUnavailable` Pods at a time.
 *
 * Events (kruise-ts reasons; v0.9.0's SidecarSet controller emits none for upgrades): on the Pod,
 * `SidecarUpgraded` (cold images patched) and `SidecarHotUpgradeRequested`; on the SidecarSet, `SidecarUpgradeFailed`
 * (Warning) when a Pod update fails.
 */
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import type { SidecarSet } from '../../api/sidecarset-types.js';
import {
  Controller, ControllerExpectations, INDEX_NAMESPACE, isNotFound, resources, updateStatusWithRetry, updateWithRetry,
  type ManagerContext, type ReconcileContext, type ReconcileResult, type Reconciler, type SharedInformer,
} from '../../kube/index.js';
import { sidecarSetRevision } from './hash.js';
import { applySidecarPodPatch } from './hot-upgrade.js';
import {
  isBlockedByOtherHotUpgrade, planningView, sidecarPodUpgrade, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION, type SidecarPodUpgrade,
} from './hot-upgrade-request.js';
import { podMatchesSidecarSet } from './injection.js';
import { planSidecarSet } from './upgrade-plan.js';

export const SIDECARSET_CONTROLLER_NAME = 'sidecarset';

/** kruise-ts event reasons of this controller (see the file comment). */
export const SidecarSetEventReason = Object.freeze({
  SidecarUpgraded: 'SidecarUpgraded',
  SidecarHotUpgradeRequested: 'SidecarHotUpgradeRequested',
  SidecarUpgradeFailed: 'SidecarUpgradeFailed',
} as const);

export interface SidecarSetControllerOptions {
  /** Reconcile workers. @default 3 */
  workers?: number;
  /** Pod updates in flight per reconcile. @default 4 */
  podWriteConcurrency?: number;
  /** How long to wait for the cache to show our Pod updates. @default 300_000 (spec §0.5) */
  expectationTimeoutMs?: number;
  /** Requeue while waiting for the cache (§7.3 step 3). @default 1000 */
  expectationRequeueMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
}

interface CompiledOptions {
  readonly workers: number;
  readonly podWriteConcurrency: number;
  readonly expectationTimeoutMs: number;
  readonly expectationRequeueMs: number;
  readonly now: () => number;
}

function compileOptions(o: SidecarSetControllerOptions): Readonly<CompiledOptions> {
  const positiveInt = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`sidecarset controller: ${name} must be a positive integer, got ${x}`);
    return x;
  };
  const ms = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isFinite(x) || x <= 0) throw new RangeError(`sidecarset controller: ${name} must be a positive number of ms, got ${x}`);
    return x;
  };
  return Object.freeze({
    workers: positiveInt(o.workers, 3, 'workers'),
    podWriteConcurrency: positiveInt(o.podWriteConcurrency, 4, 'podWriteConcurrency'),
    expectationTimeoutMs: ms(o.expectationTimeoutMs, 300_000, 'expectationTimeoutMs'),
    expectationRequeueMs: ms(o.expectationRequeueMs, 1000, 'expectationRequeueMs'),
    now: o.now ?? Date.now,
  });
}

export interface SidecarSetInformers {
  sidecarSets: SharedInformer<SidecarSet>;
  /** Every Pod of the cluster (indexed by namespace, as every informer is). */
  pods: SharedInformer<KubeObject>;
}

type UpgradeKind = 'cold' | 'hot';

function upgradeCounter(ctx: ManagerContext): Counter<'kind'> {
  const name = 'kruise_sidecarset_pod_upgrades_total';
  const existing = ctx.metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<'kind'>;
  return new Counter({
    name, help: 'Pods upgraded by the SidecarSet controller: cold (images patched), hot (swap requested from the agent).',
    labelNames: ['kind'], registers: [ctx.metrics.registry],
  });
}

const podKey = (p: { metadata: { namespace?: string; name?: string } }): string => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;

export class SidecarSetReconciler implements Reconciler {
  readonly expectations: ControllerExpectations;
  private readonly o: Readonly<CompiledOptions>;
  private readonly upgrades: Counter<'kind'>;

  constructor(private readonly ctx: ManagerContext, private readonly inf: SidecarSetInformers, options: SidecarSetControllerOptions = {}) {
    this.o = compileOptions(options);
    this.expectations = new ControllerExpectations({ timeoutMs: this.o.expectationTimeoutMs });
    this.upgrades = upgradeCounter(ctx);
  }

  get options(): Readonly<CompiledOptions> { return this.o; }

  async reconcile(key: string, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const cached = this.inf.sidecarSets.cache.getByName('', key);
    const now = this.o.now();
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    if (cached.metadata.deletionTimestamp) return;

    this.observeExpectations(key);
    const exp = this.expectations.satisfied(key, now, ['resourceVersion']);
    if (!exp.satisfied) {
      if (!exp.timedOut) return { requeueAfterMs: Math.min(this.o.expectationRequeueMs, exp.remainingMs ?? this.o.expectationRequeueMs) };
      rc.logger.warn({ pending: exp.pending }, 'expectations timed out; acting on the cache');
      this.expectations.delete(key);
    }

    const set = cached;
    const allSets = this.inf.sidecarSets.cache.list();
    const ns = set.spec.namespace;
    const pods = (ns ? this.inf.pods.cache.byIndex(INDEX_NAMESPACE, ns) : this.inf.pods.cache.list()) as unknown as Pod[];
    const plan = planSidecarSet(set, pods.map((p) => planningView(p, set)), now, allSets);

    if (plan.statusChanged) {
      await updateStatusWithRetry<SidecarSet>(this.ctx.client, resources.sidecarSets, '', key, (fresh) => (
        fresh.metadata.uid !== set.metadata.uid ? undefined : { ...fresh, status: plan.status }
      ), { signal: rc.signal });
      rc.logger.debug({ status: plan.status }, 'status written');
    }

    const resets = plan.actions.filter((a) => a.type === 'reset');
    if (resets.length > 0) rc.logger.debug({ pods: resets.map((a) => `${a.namespace}/${a.name}`) }, 'hot-upgrade reset left to the agent');
    const chosen = plan.actions.filter((a) => a.type === 'upgrade');
    if (chosen.length === 0) {
      if (plan.skipped) rc.logger.debug({ skipped: plan.skipped }, 'no upgrade');
      return;
    }

    const limit = pLimit(this.o.podWriteConcurrency);
    const results = await Promise.allSettled(chosen.map((a) => limit(() => this.upgradePod(key, set, a.namespace, a.name, allSets, rc))));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      this.ctx.recorder.event(set, 'Warning', SidecarSetEventReason.SidecarUpgradeFailed,
        `failed to upgrade ${failed.length} of ${chosen.length} pod(s): ${String((failed[0]!.reason as Error)?.message ?? failed[0]!.reason)}`);
      throw failed[0]!.reason;
    }
    // Step 3: the next round waits for the cache to show these updates.
    return { requeueAfterMs: this.o.expectationRequeueMs };
  }

  /** Clears resourceVersion expectations the Pod cache now satisfies (or whose Pod is gone). */
  private observeExpectations(key: string): void {
    const pending = this.expectations.satisfied(key, this.o.now(), ['resourceVersion']).pending?.resourceVersion ?? [];
    for (const k of pending) {
      const slash = k.indexOf('/');
      const cached = this.inf.pods.cache.getByName(k.slice(0, slash), k.slice(slash + 1));
      if (!cached || cached.metadata.deletionTimestamp) this.expectations.deletionObserved(key, k);
      else if (cached.metadata.resourceVersion) this.expectations.observeResourceVersion(key, k, cached.metadata.resourceVersion);
    }
  }

  /** One Pod: fresh read, pure change, PUT, retried on 409 with the change recomputed on the re-read Pod. */
  private async upgradePod(
    key: string, set: SidecarSet, namespace: string, name: string, allSets: readonly SidecarSet[], rc: ReconcileContext,
  ): Promise<void> {
    let applied: SidecarPodUpgrade | undefined;
    let written: Pod;
    try {
      written = await updateWithRetry<Pod & KubeObject>(this.ctx.client, resources.pods, namespace, name, (fresh) => {
        applied = undefined;
        // The Pod may have changed since the plan: re-check what the plan assumed of it.
        if (fresh.metadata.deletionTimestamp || !podMatchesSidecarSet(fresh, set)) return undefined;
        const change = sidecarPodUpgrade(fresh, set, this.o.now(), allSets);
        if (!change) {
          if (isBlockedByOtherHotUpgrade(fresh, set.metadata.name ?? '')) rc.logger.info({ pod: `${namespace}/${name}` }, 'pod waits for another SidecarSet\'s hot upgrade');
          return undefined;
        }
        applied = change;
        const next = applySidecarPodPatch(fresh, change.patch) as Pod & KubeObject;
        if (change.clearRequest && next.metadata.annotations) delete next.metadata.annotations[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION];
        return next;
      }, { signal: rc.signal });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const change = applied;
    if (!change) return;
    if (written.metadata.resourceVersion) this.expectations.expectResourceVersion(key, podKey(written), written.metadata.resourceVersion, this.o.now());
    const revision = sidecarSetRevision(set);
    const cold = change.patch.changedContainers;
    const involved = { apiVersion: 'v1', kind: 'Pod', metadata: written.metadata };
    if (cold.length > 0) {
      this.upgrades.inc({ kind: 'cold' satisfies UpgradeKind });
      this.ctx.recorder.event(involved, 'Normal', SidecarSetEventReason.SidecarUpgraded,
        `SidecarSet ${set.metadata.name ?? ''} upgraded containers [${cold.join(', ')}]`);
    }
    if (change.request) {
      this.upgrades.inc({ kind: 'hot' satisfies UpgradeKind });
      this.ctx.recorder.event(involved, 'Normal', SidecarSetEventReason.SidecarHotUpgradeRequested,
        `SidecarSet ${set.metadata.name ?? ''} requested a hot upgrade of [${change.request.sidecars.map((s) => `${s.name}=${s.image}`).join(', ')}]`);
    }
    rc.logger.info({
      pod: `${namespace}/${name}`, revision, containers: cold,
      ...(change.request ? { hotUpgrade: change.request.sidecars.map((s) => s.name) } : {}),
      ...(change.clearRequest ? { clearedRequest: true } : {}),
    }, 'pod sidecars upgraded');
  }
}

/**
 * Whether a Pod update is worth a look. Nearly every change of a selected Pod matters (labels, annotations, images,
 * container statuses, readiness, deletion), so only resyncs of the same version are dropped.
 */
function podChanged(old: KubeObject, pod: KubeObject): boolean {
  return old.metadata.resourceVersion !== pod.metadata.resourceVersion || pod.metadata.resourceVersion === undefined;
}

/**
 * Builds the controller and wires its handlers (which only enqueue SidecarSet names): a SidecarSet change enqueues
 * it; a Pod change enqueues every SidecarSet that selects the Pod before or after the change.
 */
export function newSidecarSetController(
  ctx: ManagerContext, inf: SidecarSetInformers, options: SidecarSetControllerOptions = {}, logger: Logger = ctx.logger,
): { controller: Controller; reconciler: SidecarSetReconciler } {
  const reconciler = new SidecarSetReconciler(ctx, inf, options);
  const controller = new Controller({
    name: SIDECARSET_CONTROLLER_NAME, reconciler, workers: reconciler.options.workers, logger, metrics: ctx.metrics,
  });
  const enqueueSet = (s: KubeObject): void => controller.enqueue(s.metadata.name ?? '');
  inf.sidecarSets.addHandler({ onAdd: enqueueSet, onUpdate: (_o, s) => enqueueSet(s), onDelete: enqueueSet });
  const podEvent = (pods: readonly KubeObject[]): void => {
    for (const set of inf.sidecarSets.cache.list()) {
      if (pods.some((p) => podMatchesSidecarSet(p as unknown as Pod, set))) enqueueSet(set);
    }
  };
  inf.pods.addHandler({
    onAdd: (p) => podEvent([p]),
    onUpdate: (old, p) => { if (podChanged(old, p)) podEvent([old, p]); },
    onDelete: (p) => podEvent([p]),
  });
  return { controller, reconciler };
}

/**
 * Wires the SidecarSet controller into a Manager. SidecarSet upgrades have no gate of their own (spec §0.1: the
 * `PodWebhook` gate governs injection only, and Pods already injected must still be upgraded).
 */
export function registerSidecarSetController(ctx: ManagerContext, options: SidecarSetControllerOptions = {}): Controller[] {
  const sidecarSets = ctx.informers.informerFor<SidecarSet>(resources.sidecarSets);
  const pods = ctx.informers.informerFor<KubeObject>(resources.pods);
  const { controller } = newSidecarSetController(ctx, { sidecarSets, pods }, options, ctx.logger.child({ component: 'sidecarset-controller' }));
  return [controller];
}

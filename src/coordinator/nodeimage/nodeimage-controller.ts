/**
 * The NodeImage controller's executor (spec §4.4): a Reconciler over node names. Informers on Nodes, NodeImages and
 * ImagePullJobs; handlers only enqueue names. Each reconcile reads the cache, asks `planNodeImage` and applies the
 * one action it returns. Spec and status writes re-read the NodeImage and re-run the pure step on it after every
 * conflict, so the agent's status and the job controller's tags written meanwhile are never lost.
 */
import type { Logger } from 'pino';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { KubeObject } from '../../api/meta.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import {
  Controller, ControllerExpectations, EventReason, isAlreadyExists, isNotFound, resources, updateStatusWithRetry,
  updateWithRetry, type ManagerContext, type ReconcileContext, type ReconcileResult, type Reconciler, type SharedInformer,
} from '../../kube/index.js';
import { INDEX_IMAGEPULLJOB_OWNER_UID, isImagePullJobRef } from './nodeimage-owners.js';
import {
  DEFAULT_NODEIMAGE_PLANNER_OPTIONS, gcNodeImageSpec, planNodeImage, pullFailedMessage, superviseNodeImageStatus,
  type NodeLike, type OwnerJob, type TagFailure,
} from './nodeimage-planner.js';

export const NODEIMAGE_CONTROLLER_NAME = 'nodeimage';

export interface NodeImageControllerOptions {
  /** The agent must answer for a tag within this long after `createdAt` (§4.4). @default 60_000 */
  responseTimeoutMs?: number;
  /** Shortest requeue for deadlines. @default 3000 */
  minRequeueMs?: number;
  /** Random addition to a requeue, up to this. @default 2000 */
  requeueJitterMs?: number;
  /** @default 2 */
  workers?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

interface CompiledOptions {
  readonly responseTimeoutMs: number;
  readonly minRequeueMs: number;
  readonly requeueJitterMs: number;
  readonly workers: number;
  readonly now: () => number;
  readonly random: () => number;
}

function compileOptions(o: NodeImageControllerOptions): Readonly<CompiledOptions> {
  const ms = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isFinite(x) || x < 0) throw new RangeError(`nodeimage controller: ${name} must be a non-negative number of ms, got ${x}`);
    return x;
  };
  return Object.freeze({
    responseTimeoutMs: ms(o.responseTimeoutMs, DEFAULT_NODEIMAGE_PLANNER_OPTIONS.responseTimeoutMs, 'responseTimeoutMs'),
    minRequeueMs: ms(o.minRequeueMs, DEFAULT_NODEIMAGE_PLANNER_OPTIONS.minRequeueMs, 'minRequeueMs'),
    requeueJitterMs: ms(o.requeueJitterMs, DEFAULT_NODEIMAGE_PLANNER_OPTIONS.requeueJitterMs, 'requeueJitterMs'),
    workers: o.workers ?? 2,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  });
}

export interface NodeImageInformers {
  nodes: SharedInformer<KubeObject>;
  nodeImages: SharedInformer<NodeImage>;
  jobs: SharedInformer<ImagePullJob>;
}

/** The jobs named by the tags of `ni`, by `namespace/name`, from the cache. */
function ownerJobsOf(ni: NodeImage | undefined, jobs: SharedInformer<ImagePullJob>): Map<string, OwnerJob> {
  const out = new Map<string, OwnerJob>();
  for (const image of Object.values(ni?.spec?.images ?? {})) {
    for (const tag of image.tags ?? []) {
      for (const ref of tag.ownerReferences ?? []) {
        if (!isImagePullJobRef(ref)) continue;
        const key = `${ref.namespace ?? ''}/${ref.name ?? ''}`;
        if (out.has(key)) continue;
        const job = jobs.cache.getByName(ref.namespace ?? '', ref.name ?? '');
        if (job) out.set(key, job);
      }
    }
  }
  return out;
}

export class NodeImageReconciler implements Reconciler {
  readonly expectations = new ControllerExpectations();
  private readonly o: Readonly<CompiledOptions>;

  constructor(private readonly ctx: ManagerContext, private readonly inf: NodeImageInformers, options: NodeImageControllerOptions = {}) {
    this.o = compileOptions(options);
  }

  get options(): Readonly<CompiledOptions> { return this.o; }

  async reconcile(name: string, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const now = this.o.now();
    const exp = this.expectations.satisfied(name, now, ['create', 'delete']);
    if (!exp.satisfied) {
      if (!exp.timedOut) return { requeueAfterMs: exp.remainingMs ?? 1000 };
      rc.logger.warn({ pending: exp.pending }, 'expectations timed out; acting on the cache');
      this.expectations.delete(name);
    }
    const node = this.inf.nodes.cache.getByName('', name) as NodeLike | undefined;
    const ni = this.inf.nodeImages.cache.getByName('', name);
    const plan = planNodeImage({
      nodeName: name, node, nodeImage: ni, jobs: ownerJobsOf(ni, this.inf.jobs), now, jitter: this.o.random(),
      options: { responseTimeoutMs: this.o.responseTimeoutMs, minRequeueMs: this.o.minRequeueMs, requeueJitterMs: this.o.requeueJitterMs },
    });
    for (const action of plan.actions) {
      switch (action.type) {
        case 'create':
          this.expectations.expectCreations(name, [name], now);
          try {
            await this.ctx.client.create(resources.nodeImages, action.nodeImage, rc.signal);
            rc.logger.info('created NodeImage');
          } catch (e) {
            this.expectations.creationFailed(name, name);
            if (!isAlreadyExists(e)) throw e;
          }
          return;
        case 'delete':
          this.expectations.expectDeletions(name, [name], now);
          try {
            await this.ctx.client.delete(resources.nodeImages, '', name, { signal: rc.signal, ...(ni?.metadata.uid ? { preconditions: { uid: ni.metadata.uid } } : {}) });
            rc.logger.info('deleted NodeImage of a node that is gone');
          } catch (e) {
            this.expectations.deletionFailed(name, name);
            if (!isNotFound(e)) throw e;
          }
          return;
        case 'updateSpec':
          await this.updateSpec(name, rc);
          return;
        case 'updateStatus':
          await this.updateStatus(name, rc);
          break;
      }
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  }

  private async updateSpec(name: string, rc: ReconcileContext): Promise<void> {
    try {
      await updateWithRetry<NodeImage>(this.ctx.client, resources.nodeImages, '', name, (fresh) => {
        const node = this.inf.nodes.cache.getByName('', name) as NodeLike | undefined;
        const gc = gcNodeImageSpec(fresh, ownerJobsOf(fresh, this.inf.jobs), this.o.now());
        const labels = node && !node.metadata.deletionTimestamp ? { ...(node.metadata.labels ?? {}) } : fresh.metadata.labels ?? {};
        const labelsChanged = JSON.stringify(Object.entries(labels).sort()) !== JSON.stringify(Object.entries(fresh.metadata.labels ?? {}).sort());
        if (!gc.changed && !labelsChanged) return undefined;
        return { ...fresh, metadata: { ...fresh.metadata, labels }, spec: gc.spec };
      }, { signal: rc.signal });
      rc.logger.debug('updated NodeImage spec');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async updateStatus(name: string, rc: ReconcileContext): Promise<void> {
    let failures: TagFailure[] = [];
    let written: NodeImage | undefined;
    try {
      written = await updateStatusWithRetry<NodeImage>(this.ctx.client, resources.nodeImages, '', name, (fresh) => {
        const sup = superviseNodeImageStatus(fresh, this.o.now(), this.o.responseTimeoutMs);
        failures = sup.failures;
        return sup.changed ? { ...fresh, status: sup.status } : undefined;
      }, { signal: rc.signal });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    for (const f of failures) {
      const message = pullFailedMessage(name, f);
      rc.logger.info({ image: f.imageName, tag: f.tag, reason: f.message }, 'pull failed by supervision');
      for (const owner of f.owners) {
        this.ctx.recorder.event({
          apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '',
          metadata: { name: owner.name ?? '', namespace: owner.namespace ?? '', uid: owner.uid ?? '' },
        }, 'Warning', EventReason.PullImageFailed, message);
      }
      if (written) this.ctx.recorder.event(written, 'Warning', EventReason.PullImageFailed, message);
    }
  }
}

function labelsChanged(a: KubeObject, b: KubeObject): boolean {
  return JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {})
    || Boolean(a.metadata.deletionTimestamp) !== Boolean(b.metadata.deletionTimestamp);
}

/**
 * Builds the controller and wires its handlers. The informers are shared with the ImagePullJob controller (the
 * NodeImage informer must carry the owner-uid index).
 */
export function newNodeImageController(
  ctx: ManagerContext, inf: NodeImageInformers, options: NodeImageControllerOptions = {}, logger: Logger = ctx.logger,
): { controller: Controller; reconciler: NodeImageReconciler } {
  const reconciler = new NodeImageReconciler(ctx, inf, options);
  const controller = new Controller({
    name: NODEIMAGE_CONTROLLER_NAME, reconciler, workers: reconciler.options.workers, logger, metrics: ctx.metrics,
  });
  const byName = (o: KubeObject): void => controller.enqueue(o.metadata.name ?? '');
  inf.nodes.addHandler({
    onAdd: byName,
    onUpdate: (old, obj) => { if (labelsChanged(old, obj)) byName(obj); },
    onDelete: byName,
  });
  inf.nodeImages.addHandler({
    onAdd: (ni) => {
      reconciler.expectations.creationObserved(ni.metadata.name ?? '', ni.metadata.name ?? '');
      byName(ni);
    },
    onUpdate: (_old, ni) => {
      if (ni.metadata.deletionTimestamp) reconciler.expectations.deletionObserved(ni.metadata.name ?? '', ni.metadata.name ?? '');
      byName(ni);
    },
    onDelete: (ni) => {
      reconciler.expectations.deletionObserved(ni.metadata.name ?? '', ni.metadata.name ?? '');
      byName(ni);
    },
  });
  // A deleted job: revisit the NodeImages where it owns tags, so its owner refs and then the tags go (§4.5).
  inf.jobs.addHandler({
    onDelete: (job) => {
      if (!job.metadata.uid) return;
      for (const ni of inf.nodeImages.cache.byIndex(INDEX_IMAGEPULLJOB_OWNER_UID, job.metadata.uid)) byName(ni);
    },
  });
  return { controller, reconciler };
}

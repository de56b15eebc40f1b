/**
 * The ImagePullJob controller's executor (spec §4.5): a Reconciler over `namespace/name` of jobs. It mirrors the
 * job's pull Secrets into the system namespace, computes the targets, asks `planImagePullJob`, writes the
 * NodeImages it says (each write re-reads the NodeImage and re-applies the pure mutation after a 409, so concurrent
 * writers never lose entries), deletes the job after its TTL, and writes the status when it changed.
 *
 * Expectations: after writing a NodeImage the job waits until its cache shows that resourceVersion, so a lagging
 * cache never makes it count a node as not synced and fill the same slot twice.
 */
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { GROUP } from '../../api/group-version.js';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import { InvalidSelectorError, matchesSelector, selectorFromLabelSelector } from '../../api/label-selector.js';
import type { KubeObject } from '../../api/meta.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import type { Pod } from '../../api/pod-types.js';
import { SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';
import { ImageReferenceError, parseImageReference } from '../../cri/image-reference.js';
import {
  Controller, ControllerExpectations, INDEX_NAMESPACE, isAlreadyExists, isConflict, isNotFound, resources, TerminalError,
  updateStatusWithRetry, updateWithRetry, type ManagerContext, type ReconcileContext, type ReconcileResult,
  type Reconciler, type SharedInformer,
} from '../../kube/index.js';
import { INDEX_IMAGEPULLJOB_OWNER_UID } from '../nodeimage/nodeimage-owners.js';
import { planImagePullJob } from './imagepulljob-planner.js';
import {
  addJobToNodeImage, desiredJobTag, refreshJobTag, releaseJobFromOtherTags, type JobImage,
} from './nodeimage-tag-sync.js';
import {
  jobPullSecretNames, MIRROR_JOB_ANNOTATION, MIRROR_JOB_UID_LABEL, mirroredSecretRefs, mirrorSecretName, planMirrors,
  type FetchedSource, type SecretObject,
} from './secret-mirror.js';
import { targetNodeNames } from './target-nodes.js';

export const IMAGEPULLJOB_CONTROLLER_NAME = 'imagepulljob';
/** Job cache index: familiar image name → jobs (NodeImage updates re-trigger only the jobs of changed images). */
export const INDEX_JOB_IMAGE_NAME = 'imageName';
/** Secret-copy cache index: `namespace/name` of the job a copy belongs to. */
export const INDEX_MIRROR_JOB = 'mirrorJob';

export interface ImagePullJobControllerOptions {
  /** Upstream `--imagepulljob-workers`. @default 3 */
  workers?: number;
  /** NodeImage writes in flight per reconcile. @default 8 */
  nodeImageWriteConcurrency?: number;
  /** How often a running job's source Secrets are read again to refresh the copies. @default 300_000 */
  secretResyncMs?: number;
  /** @default 300_000 (spec §0.5) */
  expectationTimeoutMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
  /** In [0, 1), for TTL jitter. @default Math.random */
  random?: () => number;
}

interface CompiledOptions {
  readonly workers: number;
  readonly nodeImageWriteConcurrency: number;
  readonly secretResyncMs: number;
  readonly expectationTimeoutMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

function compileOptions(o: ImagePullJobControllerOptions): Readonly<CompiledOptions> {
  const positiveInt = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`imagepulljob controller: ${name} must be a positive integer, got ${x}`);
    return x;
  };
  const ms = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isFinite(x) || x <= 0) throw new RangeError(`imagepulljob controller: ${name} must be a positive number of ms, got ${x}`);
    return x;
  };
  return Object.freeze({
    workers: positiveInt(o.workers, 3, 'workers'),
    nodeImageWriteConcurrency: positiveInt(o.nodeImageWriteConcurrency, 8, 'nodeImageWriteConcurrency'),
    secretResyncMs: ms(o.secretResyncMs, 300_000, 'secretResyncMs'),
    expectationTimeoutMs: ms(o.expectationTimeoutMs, 300_000, 'expectationTimeoutMs'),
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  });
}

export interface ImagePullJobInformers {
  jobs: SharedInformer<ImagePullJob>;
  nodeImages: SharedInformer<NodeImage>;
  pods: SharedInformer<KubeObject>;
  /** Secrets in the system namespace that carry `MIRROR_JOB_UID_LABEL`, indexed by `INDEX_MIRROR_JOB`. */
  mirrors: SharedInformer<KubeObject>;
}

/** The image key of a job (§4.5 step 3): familiar name and tag; a digest is the tag; no tag → `latest`. */
export function jobImageOf(image: string): JobImage {
  const ref = parseImageReference(image, { fieldPath: 'spec.image' });
  return { name: ref.familiarName, tag: ref.digest ?? ref.tag ?? 'latest' };
}

/** Index function for the job cache. */
export function jobImageNameIndex(job: KubeObject): string[] {
  const image = (job as ImagePullJob).spec?.image;
  if (!image) return [];
  try { return [jobImageOf(image).name]; } catch { return []; }
}

/** Index function for the Secret copies. */
export function mirrorJobIndex(secret: KubeObject): string[] {
  const key = secret.metadata.annotations?.[MIRROR_JOB_ANNOTATION];
  return key ? [key] : [];
}

function controllerOwnerKind(job: ImagePullJob): string | undefined {
  const c = (job.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!c) return undefined;
  const group = c.apiVersion.includes('/') ? c.apiVersion.slice(0, c.apiVersion.indexOf('/')) : '';
  return group === GROUP ? c.kind : undefined;
}

function syncCounter(ctx: ManagerContext): Counter<'action'> {
  const name = 'kruise_imagepulljob_node_syncs_total';
  const existing = ctx.metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<'action'>;
  return new Counter({
    name, help: 'NodeImage writes by the ImagePullJob controller: sync (job added to a node), refresh (job edit), release (image edit).',
    labelNames: ['action'], registers: [ctx.metrics.registry],
  });
}

interface SecretCheck { at: number; uid: string; missing: ReadonlySet<string> }

type NodeImageWrite = 'sync' | 'refresh' | 'release';

export class ImagePullJobReconciler implements Reconciler {
  readonly expectations: ControllerExpectations;
  private readonly o: Readonly<CompiledOptions>;
  /** Per job key: when its source Secrets were last read (controller-instance state, never module state). */
  private readonly secretChecks = new Map<string, SecretCheck>();
  private readonly syncs: Counter<'action'>;

  constructor(private readonly ctx: ManagerContext, private readonly inf: ImagePullJobInformers, options: ImagePullJobControllerOptions = {}) {
    this.o = compileOptions(options);
    this.expectations = new ControllerExpectations({ timeoutMs: this.o.expectationTimeoutMs });
    this.syncs = syncCounter(ctx);
  }

  get options(): Readonly<CompiledOptions> { return this.o; }

  async reconcile(key: string, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const job = this.inf.jobs.cache.getByName(ns, name);
    const now = this.o.now();
    if (!job) {
      await this.syncMirrors(key, undefined, rc, now);
      this.expectations.delete(key);
      this.secretChecks.delete(key);
      return;
    }
    if (job.metadata.deletionTimestamp) return;

    this.observeExpectations(key);
    const exp = this.expectations.satisfied(key, now, ['resourceVersion']);
    if (!exp.satisfied) {
      if (!exp.timedOut) return { requeueAfterMs: exp.remainingMs ?? 1000 };
      rc.logger.warn({ pending: exp.pending }, 'expectations timed out; acting on the cache');
      this.expectations.delete(key);
    }

    let image: JobImage;
    try {
      image = jobImageOf(job.spec.image);
    } catch (e) {
      if (e instanceof ImageReferenceError) throw new TerminalError(e.message, { reason: 'Invalid', fieldPath: 'spec.image', cause: e });
      throw e;
    }
    if (!job.status?.completionTime) await this.syncMirrors(key, job, rc, now);

    let targetNames: string[];
    try {
      targetNames = targetNodeNames({
        job, nodeImages: this.inf.nodeImages.cache.list(),
        ...(job.spec.podSelector ? { pods: this.inf.pods.cache.byIndex(INDEX_NAMESPACE, ns) as unknown as Pod[] } : {}),
        ownerKind: controllerOwnerKind(job),
      });
    } catch (e) {
      if (e instanceof InvalidSelectorError) throw new TerminalError(e.message, { reason: 'Invalid', cause: e });
      throw e;
    }
    const targets = targetNames.map((n) => this.inf.nodeImages.cache.getByName('', n)).filter((n): n is NodeImage => n !== undefined);
    const desired = desiredJobTag(job, image, mirroredSecretRefs(job));
    const plan = planImagePullJob({
      job, desired, targets, now,
      owned: job.metadata.uid ? this.inf.nodeImages.cache.byIndex(INDEX_IMAGEPULLJOB_OWNER_UID, job.metadata.uid) : [],
    });

    if (plan.deleteJob) {
      rc.logger.info({ ttlSecondsAfterFinished: job.spec.completionPolicy?.ttlSecondsAfterFinished }, 'Deleting ImagePullJob for ttlSecondsAfterFinished');
      try {
        await this.ctx.client.delete(resources.imagePullJobs, ns, name, { signal: rc.signal, propagationPolicy: 'Background', ...(job.metadata.uid ? { preconditions: { uid: job.metadata.uid } } : {}) });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      return;
    }

    const writes: [NodeImageWrite, string][] = [
      ...plan.sync.map((n): [NodeImageWrite, string] => ['sync', n]),
      ...plan.refresh.map((n): [NodeImageWrite, string] => ['refresh', n]),
      ...plan.release.map((n): [NodeImageWrite, string] => ['release', n]),
    ];
    if (writes.length > 0) {
      const limit = pLimit(this.o.nodeImageWriteConcurrency);
      const results = await Promise.allSettled(writes.map(([action, node]) => limit(() => this.writeNodeImage(key, action, node, (fresh) => {
        switch (action) {
          case 'sync': return addJobToNodeImage(fresh, desired, this.o.now(), this.o.random);
          case 'refresh': return refreshJobTag(fresh, desired, this.o.random);
          case 'release': return releaseJobFromOtherTags(fresh, job.metadata.uid ?? '', image);
        }
      }, rc))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (plan.sync.length > 0) rc.logger.info({ nodes: plan.sync, active: plan.status.active }, 'synced job into NodeImages');
      if (failed) throw failed.reason;
    }

    if (plan.statusChanged) {
      await updateStatusWithRetry<ImagePullJob>(this.ctx.client, resources.imagePullJobs, ns, name, (fresh) => (
        fresh.metadata.uid !== job.metadata.uid ? undefined : { ...fresh, status: plan.status }
      ), { signal: rc.signal });
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  }

  /** Clears resourceVersion expectations the cache now satisfies (or whose NodeImage is gone). */
  private observeExpectations(key: string): void {
    const pending = this.expectations.satisfied(key, this.o.now(), ['resourceVersion']).pending?.resourceVersion ?? [];
    for (const n of pending) {
      const cached = this.inf.nodeImages.cache.getByName('', n);
      if (!cached) this.expectations.deletionObserved(key, n);
      else if (cached.metadata.resourceVersion) this.expectations.observeResourceVersion(key, n, cached.metadata.resourceVersion);
    }
  }

  private async writeNodeImage(key: string, action: NodeImageWrite, node: string, mutate: (fresh: NodeImage) => NodeImage | undefined, rc: ReconcileContext): Promise<void> {
    let changed = false;
    let written: NodeImage;
    try {
      written = await updateWithRetry<NodeImage>(this.ctx.client, resources.nodeImages, '', node, (fresh) => {
        const next = mutate(fresh);
        changed = next !== undefined;
        return next;
      }, { signal: rc.signal });
    } catch (e) {
      // The Node went away meanwhile: nothing to pull there.
      if (isNotFound(e)) return;
      throw e;
    }
    if (!changed) return;
    this.syncs.inc({ action });
    if (written.metadata.resourceVersion) this.expectations.expectResourceVersion(key, node, written.metadata.resourceVersion, this.o.now());
  }

  /**
   * Keeps the job's Secret copies in line with `spec.pullSecrets` (see secret-mirror.ts for the ownership model).
   * Sources are read when a copy is missing, the job changed uid, or `secretResyncMs` passed; a Secret that does not
   * exist is looked for again only at the next resync.
   */
  private async syncMirrors(key: string, job: ImagePullJob | undefined, rc: ReconcileContext, now: number): Promise<void> {
    const existing = this.inf.mirrors.cache.byIndex(INDEX_MIRROR_JOB, key) as SecretObject[];
    const sources = new Map<string, FetchedSource>();
    if (job) {
      const ns = job.metadata.namespace ?? '';
      const uid = job.metadata.uid ?? '';
      const names = jobPullSecretNames(job);
      const last = this.secretChecks.get(key);
      const due = last === undefined || last.uid !== uid || now - last.at >= this.o.secretResyncMs;
      const copyMissing = names.some((s) => !last?.missing.has(s) && !existing.some((m) => (
        m.metadata.name === mirrorSecretName(ns, job.metadata.name ?? '', s) && m.metadata.labels?.[MIRROR_JOB_UID_LABEL] === uid
      )));
      if (names.length > 0 && (due || copyMissing)) {
        for (const s of names) {
          try {
            sources.set(s, await this.ctx.client.get<SecretObject>(resources.secrets, ns, s, rc.signal));
          } catch (e) {
            if (!isNotFound(e)) throw e;
            sources.set(s, null);
          }
        }
      }
      if (names.length > 0 && sources.size > 0) {
        this.secretChecks.set(key, { at: now, uid, missing: new Set([...sources].filter(([, v]) => v === null).map(([k]) => k)) });
      }
    }
    const plan = planMirrors(job, existing, sources);
    if (plan.missing.length > 0) rc.logger.warn({ secrets: plan.missing }, 'pull secrets not found; nodes pull without them');
    for (const m of plan.create) {
      try {
        await this.ctx.client.create(resources.secrets, m, rc.signal);
        rc.logger.info({ secret: m.metadata.name }, 'mirrored pull secret into the system namespace');
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    for (const m of plan.update) {
      try {
        await this.ctx.client.update(resources.secrets, m, rc.signal);
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
        // The copy's cache entry was stale: read the source again next time.
        this.secretChecks.delete(key);
      }
    }
    for (const n of plan.delete) {
      try {
        await this.ctx.client.delete(resources.secrets, SYSTEM_NAMESPACE, n, { signal: rc.signal });
        rc.logger.info({ secret: n }, 'deleted pull secret copy');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

function imagesChanged(old: NodeImage, ni: NodeImage): Set<string> {
  const out = new Set<string>();
  const names = new Set([
    ...Object.keys(old.spec?.images ?? {}), ...Object.keys(ni.spec?.images ?? {}),
    ...Object.keys(old.status?.imageStatuses ?? {}), ...Object.keys(ni.status?.imageStatuses ?? {}),
  ]);
  for (const n of names) {
    if (JSON.stringify(old.spec?.images?.[n]) !== JSON.stringify(ni.spec?.images?.[n])
      || JSON.stringify(old.status?.imageStatuses?.[n]) !== JSON.stringify(ni.status?.imageStatuses?.[n])) out.add(n);
  }
  return out;
}

function podChanged(old: KubeObject, pod: KubeObject): boolean {
  const o = old as unknown as Pod;
  const p = pod as unknown as Pod;
  return JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(p.metadata.labels ?? {})
    || o.spec?.nodeName !== p.spec?.nodeName || o.status?.phase !== p.status?.phase
    || Boolean(o.metadata.deletionTimestamp) !== Boolean(p.metadata.deletionTimestamp);
}

/**
 * Builds the controller and wires its handlers (which only enqueue keys). The job informer must carry
 * `INDEX_JOB_IMAGE_NAME`, the NodeImage informer `INDEX_IMAGEPULLJOB_OWNER_UID`, the copies' `INDEX_MIRROR_JOB`.
 */
export function newImagePullJobController(
  ctx: ManagerContext, inf: ImagePullJobInformers, options: ImagePullJobControllerOptions = {}, logger: Logger = ctx.logger,
): { controller: Controller; reconciler: ImagePullJobReconciler } {
  const reconciler = new ImagePullJobReconciler(ctx, inf, options);
  const controller = new Controller({
    name: IMAGEPULLJOB_CONTROLLER_NAME, reconciler, workers: reconciler.options.workers, logger, metrics: ctx.metrics,
  });
  const enqueue = (job: KubeObject): void => controller.enqueue(`${job.metadata.namespace ?? ''}/${job.metadata.name ?? ''}`);
  const active = (job: ImagePullJob): boolean => !job.status?.completionTime;
  const enqueueAllActive = (): void => { for (const j of inf.jobs.cache.list()) if (active(j)) enqueue(j); };
  inf.jobs.addHandler({ onAdd: enqueue, onUpdate: (_o, j) => enqueue(j), onDelete: enqueue });
  inf.nodeImages.addHandler({
    onAdd: enqueueAllActive,
    onDelete: enqueueAllActive,
    onUpdate: (old, ni) => {
      if (JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(ni.metadata.labels ?? {})) { enqueueAllActive(); return; }
      for (const image of imagesChanged(old, ni)) {
        for (const j of inf.jobs.cache.byIndex(INDEX_JOB_IMAGE_NAME, image)) enqueue(j);
      }
    },
  });
  const podEvent = (pods: KubeObject[]): void => {
    const ns = pods[0]?.metadata.namespace ?? '';
    for (const j of inf.jobs.cache.byIndex(INDEX_NAMESPACE, ns)) {
      if (!j.spec.podSelector || !active(j)) continue;
      let sel;
      try { sel = selectorFromLabelSelector(j.spec.podSelector); } catch { continue; }
      if (pods.some((p) => matchesSelector(sel, p.metadata.labels))) enqueue(j);
    }
  };
  inf.pods.addHandler({
    onAdd: (p) => podEvent([p]),
    onUpdate: (old, p) => { if (podChanged(old, p)) podEvent([old, p]); },
    onDelete: (p) => podEvent([p]),
  });
  // Copies enqueue their job: a copy whose job is gone (deleted while we were down) is collected.
  const mirrorEvent = (s: KubeObject): void => {
    const key = s.metadata.annotations?.[MIRROR_JOB_ANNOTATION];
    if (key && key.includes('/')) controller.enqueue(key);
  };
  inf.mirrors.addHandler({ onAdd: mirrorEvent, onUpdate: (_o, s) => mirrorEvent(s), onDelete: mirrorEvent });
  return { controller, reconciler };
}

/**
 * The pod lifecycle of one emulated node (`NodePods`, see ../node-pods-contract.ts): one `PodWorker` per pod uid,
 * scheduled by key through a work queue (a pod is never synced twice at once; changes during a sync re-queue it),
 * at most `maxConcurrentSyncs` syncs at a time. A pod is synced when it is observed, when its worker asks (progress,
 * probe period, back-off expiry, grace deadline, background operation done) and when one of its containers changes
 * state in the runtime: a relist of the node's containers every `relistPeriodMs` plays kubelet's PLEG.
 */
import type { Logger } from 'pino';
import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import { KruiseError } from '../../../api/errors.js';
import type { Pod } from '../../../api/pod-types.js';
import { WorkQueue } from '../../../kube/workqueue/index.js';
import type { CreateNodePods, NodePods, NodePodsOptions } from '../node-pods-contract.js';
import { KUBELET_BACKOFF, type BackoffConfig } from './backoff.js';
import { containerIdScheme, LABEL_POD_UID } from './cri-pod-config.js';
import type { PlannerConfig } from './pod-sync-plan.js';
import { PodWorker, type PodWorkerContext } from './pod-worker.js';

/** Options of the pod lifecycle beyond the contract's; all optional, so any `NodePodsOptions` will do. */
export interface PodLifecycleOptions extends NodePodsOptions {
  /** The node's IP: `hostIP` and, as every sandbox is in the host network, `podIP`. @default '127.0.0.1' */
  nodeIP?: string;
  /** Pod syncs running at once on this node. @default 16 */
  maxConcurrentSyncs?: number;
  /** Image pulls at once on this node (kubelet's `maxParallelImagePulls`). @default 4 */
  maxParallelImagePulls?: number;
  /** postStart hooks and container stops (with their preStop) at once on this node. @default 64 */
  maxConcurrentContainerOperations?: number;
  /** Restart back-off of crashing containers. @default kubelet's { initialMs: 10000, maxMs: 300000 } */
  containerBackoff?: Partial<BackoffConfig>;
  /** Back-off of failed image pulls. @default kubelet's { initialMs: 10000, maxMs: 300000 } */
  imagePullBackoff?: Partial<BackoffConfig>;
  /** How often the node lists its containers to notice exits (kubelet's PLEG relist). @default 1000 */
  relistPeriodMs?: number;
  /** Sync after a failed action or a back-off decision (kubelet requeues a failed sync too). @default 1000 */
  syncRetryMs?: number;
  /** Sync of a pod with nothing due, as a safety net. @default 30000 */
  resyncPeriodMs?: number;
  /** Deadline of a postStart hook. @default 120000 (CRI runtime-request-timeout) */
  hookTimeoutMs?: number;
}

export interface CompiledPodLifecycleOptions {
  readonly nodeIP: string;
  readonly maxConcurrentSyncs: number;
  readonly maxParallelImagePulls: number;
  readonly maxConcurrentContainerOperations: number;
  readonly planner: PlannerConfig;
  readonly relistPeriodMs: number;
  readonly syncRetryMs: number;
  readonly resyncPeriodMs: number;
  readonly hookTimeoutMs: number;
}

function invalid(message: string, fieldPath: string): KruiseError {
  return new KruiseError(message, { reason: 'Invalid', fieldPath });
}

function positiveInt(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1) throw invalid(`${field} must be a positive integer, got ${v}`, field);
  return v;
}

function positive(v: number, field: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw invalid(`${field} must be a positive number, got ${v}`, field);
  return v;
}

function backoffConfig(o: Partial<BackoffConfig> | undefined, field: string): BackoffConfig {
  const initialMs = positive(o?.initialMs ?? KUBELET_BACKOFF.initialMs, `${field}.initialMs`);
  const maxMs = positive(o?.maxMs ?? Math.max(KUBELET_BACKOFF.maxMs, initialMs), `${field}.maxMs`);
  if (maxMs < initialMs) throw invalid(`${field}.maxMs must not be less than ${field}.initialMs`, `${field}.maxMs`);
  return Object.freeze({ initialMs, maxMs });
}

/** Validates once (STYLE habit 11). */
export function compilePodLifecycleOptions(o: PodLifecycleOptions): CompiledPodLifecycleOptions {
  return Object.freeze({
    nodeIP: o.nodeIP ?? '127.0.0.1',
    maxConcurrentSyncs: positiveInt(o.maxConcurrentSyncs ?? 16, 'maxConcurrentSyncs'),
    maxParallelImagePulls: positiveInt(o.maxParallelImagePulls ?? 4, 'maxParallelImagePulls'),
    maxConcurrentContainerOperations: positiveInt(o.maxConcurrentContainerOperations ?? 64, 'maxConcurrentContainerOperations'),
    planner: Object.freeze({
      containerBackoff: backoffConfig(o.containerBackoff, 'containerBackoff'),
      imageBackoff: backoffConfig(o.imagePullBackoff, 'imagePullBackoff'),
      minimumGracePeriodSeconds: 2,
    }),
    relistPeriodMs: positive(o.relistPeriodMs ?? 1000, 'relistPeriodMs'),
    syncRetryMs: positive(o.syncRetryMs ?? 1000, 'syncRetryMs'),
    resyncPeriodMs: positive(o.resyncPeriodMs ?? 30_000, 'resyncPeriodMs'),
    hookTimeoutMs: positive(o.hookTimeoutMs ?? 120_000, 'hookTimeoutMs'),
  });
}

class NodePodLifecycle implements NodePods {
  private readonly options: CompiledPodLifecycleOptions;
  private readonly log: Logger;
  private readonly queue = new WorkQueue<string>({ name: 'node-pods' });
  private readonly workers = new Map<string, PodWorker>();
  /** uids whose worker finished; a late event for them must not start the pod again. Cleared by `forget`. */
  private readonly finished = new Set<string>();
  /** Per-uid abort of the sync in flight, so a deletion does not wait behind it. */
  private readonly syncAborts = new Map<string, AbortController>();
  private readonly ctx: PodWorkerContext;
  private scheme: Promise<string> | undefined;
  /** Last container states seen by the relist, by container id. */
  private relisted = new Map<string, { uid: string; state: string }>();

  constructor(private readonly o: PodLifecycleOptions) {
    this.options = compilePodLifecycleOptions(o);
    this.log = o.logger.child({ component: 'node-pods', node: o.nodeName });
    this.ctx = {
      nodeName: o.nodeName,
      nodeIp: this.options.nodeIP,
      cri: o.cri,
      client: o.client,
      recorder: o.recorder,
      logger: this.log,
      now: o.now ?? Date.now,
      sandboxLabels: { ...o.sandboxLabels },
      planner: this.options.planner,
      pullLimit: pLimit(this.options.maxParallelImagePulls),
      operationLimit: pLimit(this.options.maxConcurrentContainerOperations),
      hookTimeoutMs: this.options.hookTimeoutMs,
      syncRetryMs: this.options.syncRetryMs,
      resyncPeriodMs: this.options.resyncPeriodMs,
      runtimeScheme: (signal) => this.runtimeScheme(signal),
      requeue: (uid, delayMs) => { this.enqueue(uid, delayMs); },
    };
  }

  private runtimeScheme(signal: AbortSignal): Promise<string> {
    if (this.scheme === undefined) {
      const p = this.o.cri.version({}, { signal }).then((v) => containerIdScheme(v.runtimeName));
      this.scheme = p;
      p.catch(() => { if (this.scheme === p) this.scheme = undefined; });
    }
    return this.scheme;
  }

  private enqueue(uid: string, delayMs: number): void {
    if (delayMs > 0) this.queue.addAfter(uid, delayMs);
    else this.queue.add(uid);
  }

  observe(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (uid === undefined || uid === '' || pod.spec.nodeName !== this.o.nodeName || this.finished.has(uid)) return;
    let worker = this.workers.get(uid);
    if (worker === undefined) {
      worker = new PodWorker(this.ctx, pod);
      this.workers.set(uid, worker);
      this.enqueue(uid, 0);
      return;
    }
    const wasTerminating = worker.state !== 'syncing';
    const relevant = worker.observe(pod);
    // A deletion must not wait behind a sync in flight (a long create, say): kubelet cancels it too.
    if (!wasTerminating && worker.state !== 'syncing') this.syncAborts.get(uid)?.abort(new Error('the pod is terminating'));
    if (relevant) this.enqueue(uid, 0);
  }

  forget(_namespace: string, _name: string, uid: string): void {
    this.finished.delete(uid);
    const worker = this.workers.get(uid);
    if (worker === undefined) return;
    worker.forget();
    this.syncAborts.get(uid)?.abort(new Error('the pod is gone'));
    this.enqueue(uid, 0);
  }

  podCount(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.sandboxReady) n++;
    return n;
  }

  async start(signal: AbortSignal): Promise<void> {
    const limit = pLimit(this.options.maxConcurrentSyncs);
    const running = new Set<Promise<void>>();
    const relist = this.relistLoop(signal);
    try {
      for (;;) {
        // Take a key only when a sync slot is free, so keys wait in the queue (deduplicated), not in the limiter.
        while (running.size >= this.options.maxConcurrentSyncs) await Promise.race(running);
        let next;
        try {
          next = await this.queue.get(signal);
        } catch {
          break; // aborted
        }
        if (next.shutdown) break;
        const uid = next.item;
        const p: Promise<void> = limit(() => this.syncOne(uid, signal)).finally(() => {
          running.delete(p);
          this.queue.done(uid);
        });
        running.add(p);
      }
    } finally {
      this.queue.shutDown();
      await Promise.allSettled([...running]);
      await relist;
      await Promise.allSettled([...this.workers.values()].map((w) => w.stop()));
    }
  }

  private async syncOne(uid: string, signal: AbortSignal): Promise<void> {
    const worker = this.workers.get(uid);
    if (worker === undefined || signal.aborted) return;
    const abort = new AbortController();
    this.syncAborts.set(uid, abort);
    try {
      const { requeueAfterMs } = await worker.sync(AbortSignal.any([signal, abort.signal]));
      if (worker.state === 'finished') {
        this.workers.delete(uid);
        this.finished.add(uid);
        await worker.stop();
        return;
      }
      if (requeueAfterMs !== undefined) this.enqueue(uid, requeueAfterMs);
    } catch (err) {
      if (signal.aborted) return;
      if (!abort.signal.aborted) this.log.warn({ uid, err: err instanceof Error ? err.message : String(err) }, 'pod sync failed');
      this.enqueue(uid, abort.signal.aborted ? 0 : this.options.syncRetryMs);
    } finally {
      if (this.syncAborts.get(uid) === abort) this.syncAborts.delete(uid);
    }
  }

  /** kubelet's PLEG: one ListContainers per period for the whole node; a pod whose containers changed is synced. */
  private async relistLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(this.options.relistPeriodMs, undefined, { signal });
      } catch {
        return;
      }
      try {
        const res = await this.o.cri.listContainers({ filter: { labelSelector: { ...this.o.sandboxLabels } } }, { signal });
        const seen = new Map<string, { uid: string; state: string }>();
        for (const c of res.containers) {
          if (c === null) continue;
          const uid = c.labels[LABEL_POD_UID];
          if (uid === undefined || !this.workers.has(uid)) continue;
          seen.set(c.id, { uid, state: c.state });
          if (this.relisted.get(c.id)?.state !== c.state) this.enqueue(uid, 0);
        }
        for (const [id, was] of this.relisted) if (!seen.has(id) && this.workers.has(was.uid)) this.enqueue(was.uid, 0);
        this.relisted = seen;
      } catch (err) {
        if (signal.aborted) return;
        this.log.info({ err: err instanceof Error ? err.message : String(err) }, 'container relist failed');
      }
    }
  }

  async teardown(): Promise<void> {
    const { cri } = this.o;
    const labels = { ...this.o.sandboxLabels };
    const res = await cri.listPodSandbox(Object.keys(labels).length > 0 ? { filter: { labelSelector: labels } } : {});
    // Without node labels the runtime may be shared: only sandboxes of pods this node knows are ours.
    const ours = res.items.flatMap((s) =>
      s !== null && (Object.keys(labels).length > 0 || this.workers.has(s.labels[LABEL_POD_UID] ?? '')) ? [s] : []);
    const limit = pLimit(this.options.maxConcurrentContainerOperations);
    await Promise.all(ours.map((s) => limit(async () => {
      try {
        await cri.stopPodSandbox({ podSandboxId: s.id });
        await cri.removePodSandbox({ podSandboxId: s.id });
      } catch (err) {
        this.log.warn({ sandboxId: s.id, err: err instanceof Error ? err.message : String(err) }, 'sandbox teardown failed');
      }
    })));
    this.workers.clear();
  }
}

/** The `CreateNodePods` of the sandbox: the pod lifecycle of one emulated node. */
export const createNodePods = ((o: PodLifecycleOptions): NodePods => new NodePodLifecycle(o)) satisfies CreateNodePods;

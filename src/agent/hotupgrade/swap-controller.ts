/**
 * The agent's hot-upgrade swap (spec §7.5 steps 2-4; contract: coordinator/sidecarset/hot-upgrade-request.ts).
 *
 * Watches the Pods of its own node (`spec.nodeName`) that carry a swap request and reconciles each by key
 * (`namespace/name`): observe the pair `X-1`/`X-2` through the CRI (one ListContainers by the kubelet's label
 * `io.kubernetes.pod.uid`, the pair picked by `io.kubernetes.container.name`, then ContainerStatus for the running
 * image) and the
 * Pod status (started = postStart finished, Ready), ask the pure planner (`planSwap`, swap-state.ts) for the next
 * step, execute it:
 * - `pull`: pre-pull the images the node lacks (ImageStatus) through the CRI (best effort: a failed pre-pull is
 *   logged, the kubelet pulls again with the Pod's own secrets), then plan again and write the switch; a pull still
 *   running after the poll interval is recorded as Pulling first. Pulls are shared by the node: the Pods swapping at
 *   once wait for one pull of each image;
 * - `write`: ONE Pod update guarded by the cached resourceVersion carrying the images, the annotations and the new
 *   status (a 409 is retried on the fresh Pod by the queue's backoff); then events and metrics. The key is queued
 *   again at once and the next reconcile reads the Pod the update returned while the informer has not caught up;
 * - `wait`: requeue after the poll interval. What ends a wait is a Pod event (the kubelet publishes the new
 *   container, started = postStart done, in the Pod status; the CRI cannot tell that the hook returned), so the
 *   poll, which reads the local CRI, is only a safety net.
 * Waits never block a worker: a waiting phase is a requeue, and its timeout counts from the time persisted in the
 * status, so a restarted agent keeps the same deadline.
 *
 * Known gaps: the pre-pull uses no pull secrets; an invalid request annotation is logged and left alone (the
 * coordinator keeps counting the Pod unavailable); a deployed agent needs `update` on pods (RBAC manifests are
 * not part of this change).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KruiseError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import { parseHotUpgradeRequest, hotUpgradeContainerNames, type HotUpgradeRequest } from '../../api/sidecarset-hot-upgrade.js';
import { SIDECARSET_HASH_ANNOTATION, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../api/well-known-keys.js';
import type { CriApi } from '../../cri/cri-api.js';
import { nanosToMs } from '../../cri/cri-types.js';
import { normalizeImageReference } from '../../cri/image-reference.js';
import { Controller, type ControllerMetricsProvider, type ReconcileContext } from '../../kube/controller/index.js';
import type { EventRecorder } from '../../kube/events/event-recorder.js';
import type { InformerFactory } from '../../kube/informer/informer-factory.js';
import type { SharedInformer } from '../../kube/informer/shared-informer.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { compareResourceVersions } from '../../kube/expectations.js';
import { resources } from '../../kube/resource-ref.js';
import type { SchedulingClock } from '../../kube/workqueue/clock.js';
import type { CriSource } from '../cri-connector.js';
import { wallClock } from '../imagepuller/wall-clock.js';
import { PromSwapMetrics, type SwapMetrics } from './swap-metrics.js';
import {
  applySwapWrite, parseSwapStatus, planSwap, type ObservedSwapContainer, type SwapInput, type SwapStep, type SwapWrite,
} from './swap-state.js';

export const HOTUPGRADE_CONTROLLER_NAME = 'sidecar-hotupgrade';

/** The kubelet's CRI labels (as src/sandbox/node/pods/cri-pod-config.ts and a real kubelet set them). */
const LABEL_POD_UID = 'io.kubernetes.pod.uid';
const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';

/** One node's Pods as the controller reads them. */
export interface NodePodSource {
  get(namespace: string, name: string): Pod | undefined;
  /**
   * Calls `onChange` (cheap, synchronous) on every add, update or delete of a Pod of the node, and once for each
   * Pod already cached when subscribing after sync; returns the unsubscribe.
   */
  subscribe(onChange: (pod: Pod) => void): () => void;
}

/** The production source: an informer over the node's Pods (field selector `spec.nodeName=<node>`). */
export function informerNodePodSource(informer: SharedInformer<Pod & KubeObject>): NodePodSource {
  return {
    get: (namespace, name) => informer.cache.getByName(namespace, name),
    subscribe: (onChange) => informer.addHandler({ onAdd: onChange, onUpdate: (_o, p) => onChange(p), onDelete: onChange }),
  };
}

export function nodePodInformer(informers: InformerFactory, nodeName: string): SharedInformer<Pod & KubeObject> {
  return informers.informerFor<Pod & KubeObject>(resources.pods, { fieldSelector: `spec.nodeName=${nodeName}` });
}

export interface HotUpgradeControllerOptions {
  nodeName: string;
  client: Pick<KubeClient, 'update'>;
  /** The node's Pods; or `informers` for the field-selected informer. */
  pods?: NodePodSource;
  informers?: InformerFactory;
  recorder: Pick<EventRecorder, 'event'>;
  cri: CriSource;
  logger: Logger;
  registry?: Registry;
  metrics?: SwapMetrics;
  controllerMetrics?: ControllerMetricsProvider;
  /** `--hot-upgrade-timeout`: how long a new container may take to run Ready (and an old one to reset). @default 120000 */
  timeoutMs?: number;
  /**
   * How often a waiting swap looks again without a Pod event. A safety net only: what ends a wait is the kubelet's
   * Pod status (postStart done), which comes as a Pod event; the CRI alone cannot tell that the hook returned.
   * @default 1000
   */
  pollMs?: number;
  /** Pods swapped at once on this node. @default 4 */
  workers?: number;
  /** Deadline of each pre-pull. @default 600000 */
  pullTimeoutMs?: number;
  /** Epoch-ms clock. @default the wall clock */
  clock?: SchedulingClock;
}

export interface CompiledHotUpgradeControllerOptions {
  readonly nodeName: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly workers: number;
  readonly pullTimeoutMs: number;
}

function positive(v: number, field: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new KruiseError(`${field} must be a positive number, got ${v}`, { reason: 'Invalid', fieldPath: field });
  return v;
}

export function compileHotUpgradeControllerOptions(o: HotUpgradeControllerOptions): CompiledHotUpgradeControllerOptions {
  if (typeof o.nodeName !== 'string' || o.nodeName === '') {
    throw new KruiseError('the hot-upgrade swap needs its node name (--node-name or NODE_NAME)', { reason: 'Invalid', fieldPath: 'nodeName' });
  }
  if (o.pods === undefined && o.informers === undefined) {
    throw new KruiseError('the hot-upgrade swap needs informers or a Pod source', { reason: 'Invalid', fieldPath: 'informers' });
  }
  const workers = o.workers ?? 4;
  if (!Number.isInteger(workers) || workers < 1) throw new KruiseError(`workers must be a positive whole number, got ${workers}`, { reason: 'Invalid', fieldPath: 'workers' });
  return Object.freeze({
    nodeName: o.nodeName,
    timeoutMs: positive(o.timeoutMs ?? 120_000, 'timeoutMs'),
    pollMs: positive(o.pollMs ?? 1000, 'pollMs'),
    workers,
    pullTimeoutMs: positive(o.pullTimeoutMs ?? 600_000, 'pullTimeoutMs'),
  });
}

/** Image references compared normalised (`nginx` = `docker.io/library/nginx:latest`); unparsable ones as text. */
export function sameImage(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return normalizeImageReference(a) === normalizeImageReference(b);
  } catch {
    return false;
  }
}

/** The request time: the set's hash entry timestamp, written in the same update as the request (seconds). */
function requestedAt(pod: Pod, setName: string): number | undefined {
  try {
    const entry = (JSON.parse(pod.metadata.annotations?.[SIDECARSET_HASH_ANNOTATION] ?? '{}') as Record<string, { updateTimestamp?: unknown } | null>)[setName];
    const t = typeof entry?.updateTimestamp === 'string' ? Date.parse(entry.updateTimestamp) : NaN;
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `p` settles within `ms` (false on timeout; rejects when `signal` aborts). */
async function settlesWithin(p: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  const timer = new AbortController();
  const timeout = sleep(ms, false, { signal: AbortSignal.any([signal, timer.signal]), ref: false });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } catch (e) {
    if (signal.aborted) throw e;
    return true;
  } finally {
    timer.abort();
  }
}

/** Waits for `p`, or rejects with the signal's reason when it aborts first (`p` goes on for its other waiters). */
async function untilSettledOrAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

export class HotUpgradeController extends Controller {
  readonly nodeName: string;
  private readonly opts: CompiledHotUpgradeControllerOptions;
  private readonly client: Pick<KubeClient, 'update'>;
  private readonly pods: NodePodSource;
  private readonly unsubscribe: () => void;
  private readonly recorder: Pick<EventRecorder, 'event'>;
  private readonly cri: CriSource;
  private readonly swapClock: SchedulingClock;
  private readonly swapMetrics: SwapMetrics | undefined;
  private readonly log: Logger;
  /** Pods as our own updates returned them, by key, until the cache shows that version or a newer one. */
  private readonly written = new Map<string, Pod>();
  /** Pre-pulls in flight on this node, by image: Pods swapping at once share one. */
  private readonly pulls = new Map<string, Promise<void>>();
  /** Aborted when `start` is told to stop: ends the shared pre-pulls. */
  private readonly stopping = new AbortController();

  constructor(options: HotUpgradeControllerOptions) {
    const compiled = compileHotUpgradeControllerOptions(options);
    const self: { it?: HotUpgradeController } = {};
    super({
      name: HOTUPGRADE_CONTROLLER_NAME,
      workers: compiled.workers,
      logger: options.logger,
      ...(options.controllerMetrics !== undefined ? { metrics: options.controllerMetrics } : {}),
      reconciler: { reconcile: async (key, ctx) => self.it?.sync(key, ctx) },
    });
    self.it = this;
    this.opts = compiled;
    this.nodeName = compiled.nodeName;
    this.client = options.client;
    this.recorder = options.recorder;
    this.cri = options.cri;
    this.swapClock = options.clock ?? wallClock;
    this.swapMetrics = options.metrics ?? (options.registry !== undefined ? new PromSwapMetrics(options.registry) : undefined);
    this.log = options.logger.child({ component: 'hotupgrade', node: this.nodeName });
    this.pods = options.pods ?? informerNodePodSource(nodePodInformer(options.informers!, this.nodeName));
    // Handlers only enqueue (habit 2); only Pods with a request have work.
    this.unsubscribe = this.pods.subscribe((pod) => {
      if (pod.metadata.annotations?.[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] !== undefined) {
        this.enqueue(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
      }
    });
  }

  override async start(signal: AbortSignal): Promise<void> {
    const criRunning = this.cri.start?.(signal).catch((e: unknown) => this.log.error({ err: e }, 'CRI connector stopped unexpectedly'));
    const stop = (): void => this.stopping.abort(signal.reason);
    if (signal.aborted) stop(); else signal.addEventListener('abort', stop, { once: true });
    try {
      await super.start(signal);
    } finally {
      signal.removeEventListener('abort', stop);
      this.stopping.abort(new Error('the hot-upgrade controller stopped'));
      await Promise.allSettled([...this.pulls.values()]);
      this.unsubscribe();
      await criRunning;
    }
  }

  /** One reconcile of one Pod's swap. */
  private async sync(key: string, ctx: ReconcileContext): Promise<{ requeueAfterMs: number } | undefined> {
    const pod = this.latest(key);
    if (pod === undefined || pod.metadata.deletionTimestamp !== undefined || pod.spec.nodeName !== this.nodeName) return undefined;
    const request = parseHotUpgradeRequest(pod);
    if (request === undefined) return undefined;
    if (request === 'invalid') {
      ctx.logger.warn({ annotation: pod.metadata.annotations?.[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] }, 'hot-upgrade request does not parse; left alone');
      return undefined;
    }
    const cri = await this.cri.get(ctx.signal);
    const observed = await this.observe(cri, pod, request, ctx.signal);
    const at = requestedAt(pod, request.sidecarSet);
    const status = parseSwapStatus(pod);
    const pulling = status?.sidecarSet !== request.sidecarSet || status.resourceVersion !== request.resourceVersion
      || status.phase === 'Pulling';
    const presentImages = pulling ? await this.presentImages(cri, request, ctx.signal) : undefined;
    const input: SwapInput = {
      pod, request, status, observed, now: this.swapClock.now(), ...(presentImages !== undefined ? { presentImages } : {}),
      timeoutMs: this.opts.timeoutMs, pollMs: this.opts.pollMs, sameImage,
      ...(at !== undefined ? { requestedAt: at } : {}),
      onTransition: (from, to, accepted) => {
        if (accepted) ctx.logger.info({ from, to, sidecarSet: request.sidecarSet }, 'hot-upgrade swap transition');
        else ctx.logger.warn({ from, to, sidecarSet: request.sidecarSet }, 'illegal hot-upgrade swap transition refused');
      },
    };
    const step = planSwap(input);
    if (step.kind !== 'pull') return this.execute(pod, step, ctx);
    // The request's images: at most two per hot sidecar.
    const pulled = Promise.all(step.images.map((image) => this.prePull(cri, image, ctx)));
    pulled.catch(() => undefined);
    if (step.whileSlow !== undefined && !(await settlesWithin(pulled, this.opts.pollMs, ctx.signal))) {
      await this.write(pod, step.whileSlow, ctx);
      return { requeueAfterMs: this.opts.pollMs };
    }
    await pulled;
    // Pulled (or failed: best effort, the kubelet pulls again): the switch, stamped now, from the same start.
    const present = new Set([...(presentImages ?? []), ...step.images]);
    const next = planSwap({ ...input, now: this.swapClock.now(), startedAt: input.now, presentImages: present });
    return next.kind === 'pull' ? { requeueAfterMs: this.opts.pollMs } : this.execute(pod, next, ctx);
  }

  private async execute(pod: Pod, step: Exclude<SwapStep, { kind: 'pull' }>, ctx: ReconcileContext): Promise<{ requeueAfterMs: number } | undefined> {
    switch (step.kind) {
      case 'idle':
        ctx.logger.debug({ why: step.why }, 'hot-upgrade swap idle');
        return undefined;
      case 'wait':
        return { requeueAfterMs: Math.max(1, step.requeueAfterMs) };
      case 'write':
        await this.write(pod, step.write, ctx);
        return { requeueAfterMs: this.opts.pollMs };
    }
  }

  /** The newer of the cached Pod and the one our last update returned (read-your-writes). */
  private latest(key: string): Pod | undefined {
    const slash = key.indexOf('/');
    const cached = this.pods.get(key.slice(0, slash), key.slice(slash + 1));
    const mine = this.written.get(key);
    if (mine === undefined) return cached;
    if (cached === undefined || cached.metadata.uid !== mine.metadata.uid
      || (compareResourceVersions(cached.metadata.resourceVersion ?? '', mine.metadata.resourceVersion ?? '') ?? 1) >= 0) {
      this.written.delete(key);
      return cached;
    }
    return mine;
  }

  /** The request's images that are on the node now (local CRI ImageStatus; an error counts as absent). */
  private async presentImages(cri: CriApi, request: HotUpgradeRequest, signal: AbortSignal): Promise<Set<string>> {
    const present = new Set<string>();
    for (const image of new Set(request.sidecars.flatMap((sc) => [sc.image, sc.emptyImage]))) {
      if (image === '' || this.pulls.has(image)) continue;
      try {
        const res = await cri.imageStatus({ image: { image } }, { signal });
        if (res.image !== null && res.image.id !== '') present.add(image);
      } catch (e) {
        if (signal.aborted) throw e;
      }
    }
    return present;
  }

  /** Joins the node's pull of `image` in flight, or starts one. */
  private async prePull(cri: CriApi, image: string, ctx: ReconcileContext): Promise<void> {
    let pull = this.pulls.get(image);
    if (pull === undefined) {
      // Not tied to this reconcile's signal: other Pods wait on it too. The pull has its own deadline.
      pull = this.pullOnce(cri, image, ctx.logger).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    await untilSettledOrAborted(pull, ctx.signal);
  }

  private async pullOnce(cri: CriApi, image: string, logger: Logger): Promise<void> {
    const signal = this.stopping.signal;
    try {
      const present = await cri.imageStatus({ image: { image } }, { signal });
      if (present.image !== null && present.image.id !== '') return;
      await cri.pullImage({ image: { image } }, { signal, timeoutMs: this.opts.pullTimeoutMs });
      logger.info({ image }, 'hot-upgrade image pre-pulled');
    } catch (e) {
      if (signal.aborted) return;
      logger.warn({ err: e, image }, 'hot-upgrade pre-pull failed; the kubelet pulls it at restart');
    }
  }

  /** One update guarded by the cached resourceVersion; a conflict throws and the queue retries on a fresh Pod. */
  private async write(pod: Pod, w: SwapWrite, ctx: ReconcileContext): Promise<void> {
    const updated = applySwapWrite(pod, w);
    const stored = await this.client.update(resources.pods, updated as unknown as KubeObject, ctx.signal);
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    this.written.set(key, stored as unknown as Pod);
    // Next step at once, on the Pod just written (the informer's copy may lag behind).
    this.enqueue(key);
    const involved = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', ...(pod.metadata.uid !== undefined ? { uid: pod.metadata.uid } : {}) },
    };
    for (const e of w.events) this.recorder.event(involved, e.type, e.reason, e.message);
    const s = w.status;
    if (s.phase === 'Resetting' && s.requestedAt !== undefined && s.targetRunningAt !== undefined) {
      this.swapMetrics?.requestToRunning(Date.parse(s.targetRunningAt) - Date.parse(s.requestedAt));
    }
    if (w.result !== undefined) {
      this.swapMetrics?.swapFinished(w.result, s.durationMs ?? 0);
      ctx.logger.info({ result: w.result, durationMs: s.durationMs, message: s.message }, 'hot-upgrade swap finished');
    }
  }

  /**
   * The newest runtime container of each of the pair, with the Pod status of that very container: one ListContainers
   * for the Pod, then the ContainerStatus of the running ones side by side (two per hot sidecar, local calls).
   */
  private async observe(cri: CriApi, pod: Pod, request: HotUpgradeRequest, signal: AbortSignal): Promise<Record<string, ObservedSwapContainer>> {
    const uid = pod.metadata.uid ?? '';
    const names = new Set(request.sidecars.flatMap((sc) => hotUpgradeContainerNames(sc.name)));
    const listed = await cri.listContainers({ filter: { labelSelector: { [LABEL_POD_UID]: uid } } }, { signal });
    const newest = new Map<string, { id: string; state: string | undefined; createdMs: number }>();
    for (const c of listed.containers ?? []) {
      if (c === null || c.id === undefined || c.id === '') continue;
      const name = c.labels?.[LABEL_CONTAINER_NAME] ?? '';
      if (!names.has(name)) continue;
      const createdMs = nanosToMs(c.createdAt ?? '0');
      const known = newest.get(name);
      if (known === undefined || createdMs > known.createdMs) newest.set(name, { id: c.id, state: c.state, createdMs });
    }
    const out: Record<string, ObservedSwapContainer> = {};
    await Promise.all([...newest].map(async ([name, c]) => {
      let runningImage: string | undefined;
      if (c.state === 'CONTAINER_RUNNING') {
        const st = await cri.containerStatus({ containerId: c.id }, { signal });
        if (st.status?.state === 'CONTAINER_RUNNING') runningImage = st.status.image?.image ?? undefined;
      }
      const ps = pod.status?.containerStatuses?.find((x) => x.name === name && (x.containerID ?? '').endsWith(`://${c.id}`));
      out[name] = {
        ...(runningImage !== undefined ? { runningImage } : {}),
        started: ps?.started === true || (ps?.state?.running !== undefined && ps.started === undefined),
        ready: ps?.ready === true,
      };
    }));
    return out;
  }
}

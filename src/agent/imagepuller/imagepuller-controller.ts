/**
 * The agent's image puller (spec §4.6, issue 7): NodeImage → pulls within limits → status.
 *
 * - Watches exactly one object: the NodeImage named after its node (field selector `metadata.name=<node>`), so
 *   the agent's load stays flat as the cluster grows (ARCHITECTURE). The sandbox, which runs one agent per emulated
 *   node in one process, injects a `NodeImageSource` over one shared informer instead.
 * - One key, one worker: each reconcile reads the cached NodeImage, asks the pure planner (`planPulls`) what to
 *   start, stop, adopt and drop, and applies it: tasks go to the `ImagePuller` executor, statuses to the
 *   `NodeImageStatusWriter`. Reconciles are level-based; every task state change also rebuilds the status at once
 *   (event-driven write-back, spec "NodeImage status").
 * - Events: `PullImageSucceed` (Normal) on the NodeImage; `PullImageFailed` (Warning) on every owner (the
 *   ImagePullJobs) and on the NodeImage, as §4.6.
 *
 * Restart semantics ("without duplicate attempts or lost results"):
 * - Results are never lost: a finished task keeps its result until it is written; on shutdown the executor stops
 *   running pulls first (they record nothing: the status keeps saying Pulling) and the writer then flushes what is
 *   pending, so a finished result reaches the API before the agent exits (bounded by the writer's close timeout).
 * - A status that says Pulling (or Waiting) for the spec's version, without completionTime, is resumed by the next
 *   agent: same `startTime`, so `activeDeadlineSeconds` still counts from the first start and restarts cannot
 *   extend it. The status records no attempt count, and an attempt cut short by a restart is not a failure of the
 *   image, so the resumed task gets a fresh budget of `backoffLimit + 1` attempts; the deadline bounds the total.
 * - Its first step is the presence check: when the interrupted pull had completed in the runtime, the resumed task
 *   succeeds without pulling again. (With `imagePullPolicy: Always` it pulls again: presence proves nothing there.)
 * - A status with completionTime for the spec's version is adopted as is: no pull, no second event.
 * - Within one agent, one task per (image, tag) and one pull per image at a time; agents of one node do not overlap
 *   (a DaemonSet replaces its pod after the old one exited).
 * - Known gap (STYLE habit 10 asks to persist the next step first): a pull starts without waiting for its
 *   Waiting/Pulling status to be written. An agent killed (not stopped) inside that window, about one write latency,
 *   leaves no startTime, so the next agent starts the deadline afresh. Waiting for the write would put an API round
 *   trip in front of every pull, and the coordinator's own supervision (createdAt + deadline + 60 s) still bounds it.
 * - CRI discovery starts with the controller, i.e. once the NodeImage informer has synced (the Manager starts
 *   controllers then); until it succeeds tasks stay Waiting and /readyz says why.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KruiseError } from '../../api/errors.js';
import type { ImageTagStatus, NodeImage } from '../../api/nodeimage-types.js';
import { Controller, type ControllerMetricsProvider } from '../../kube/controller/index.js';
import type { EventRecorder, InvolvedObject } from '../../kube/events/event-recorder.js';
import { EventReason } from '../../kube/events/reasons.js';
import type { SharedInformer } from '../../kube/informer/shared-informer.js';
import type { InformerFactory } from '../../kube/informer/informer-factory.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import type { SchedulingClock } from '../../kube/workqueue/clock.js';
import type { CriSource } from '../cri-connector.js';
import { AgentMetrics, type ImagePullerMetrics } from './agent-metrics.js';
import { ImagePuller, type ImagePullerOptions } from './image-puller.js';
import { PullSecretReader } from './pull-secrets.js';
import {
  PullTask, buildNodeImageStatus, compileTagPolicy, formatTime, planPulls, tagKey, type KnownTask,
} from './pull-task.js';
import { NodeImageStatusWriter, type StatusWriterOptions } from './status-writer.js';
import { wallClock } from './wall-clock.js';

export const IMAGEPULLER_CONTROLLER_NAME = 'imagepuller';

export interface ImagePullerControllerOptions {
  /** This node; the NodeImage of the same name is the only one watched. */
  nodeName: string;
  client: KubeClient;
  /** Where the field-selected NodeImage informer comes from (`nodeImageInformer`); unused with `nodeImages`. */
  informers?: InformerFactory;
  /**
   * The node's NodeImage from elsewhere: the sandbox runs a thousand agents over ONE informer of all NodeImages
   * (a thousand field-selected watches would cost a connection each). @default the field-selected informer
   */
  nodeImages?: NodeImageSource;
  recorder: Pick<EventRecorder, 'event'>;
  cri: CriSource;
  logger: Logger;
  /** Where the `kruise_agent_*` metrics go; or pass `metrics`. */
  registry?: Registry;
  metrics?: ImagePullerMetrics;
  /** Work-queue and reconcile metrics (the Manager's KubeMetrics). */
  controllerMetrics?: ControllerMetricsProvider;
  /** `--max-concurrent-pulls`. @default 2 */
  maxConcurrentPulls?: number;
  /** Waits between attempts (tests shorten them). @default 1000 → 30000 ms */
  backoff?: ImagePullerOptions['backoff'];
  jitter?: number;
  /** Status write pacing. */
  statusWriter?: Pick<StatusWriterOptions, 'minIntervalMs' | 'qps' | 'burst' | 'retryInitialMs' | 'retryMaxMs' | 'closeTimeoutMs'>;
  /** Level-based safety net: reconcile this often even without events. @default 300000 */
  resyncMs?: number;
  /** How long fetched pull secrets are reused. @default 60000 */
  secretTtlMs?: number;
  /** Epoch-ms clock for pulls and writes. @default the wall clock */
  clock?: SchedulingClock;
}

/** One node's NodeImage as the controller reads it: the cached object and change notifications. */
export interface NodeImageSource {
  /** The cached NodeImage of the node, if any. */
  get(): NodeImage | undefined;
  /**
   * Calls `onChange` (cheap, synchronous work only) on every add, update or delete of it, and, like an informer's
   * handler added after sync, once at first when the object is already cached; returns the unsubscribe.
   */
  subscribe(onChange: () => void): () => void;
}

/** The production source: the informer of `nodeImageInformer` (one watch, field-selected on the node's name). */
export function informerNodeImageSource(informer: SharedInformer<NodeImage>, nodeName: string): NodeImageSource {
  return {
    get: () => informer.cache.getByName('', nodeName),
    subscribe: (onChange) => informer.addHandler({ onAdd: onChange, onUpdate: onChange, onDelete: onChange }),
  };
}

export interface CompiledImagePullerControllerOptions {
  readonly nodeName: string;
  readonly resyncMs: number;
}

export function compileImagePullerControllerOptions(o: ImagePullerControllerOptions): CompiledImagePullerControllerOptions {
  if (typeof o.nodeName !== 'string' || o.nodeName === '') {
    throw new KruiseError('the image puller needs its node name (--node-name or NODE_NAME)', { reason: 'Invalid', fieldPath: 'nodeName' });
  }
  const resyncMs = o.resyncMs ?? 300_000;
  if (!(resyncMs > 0)) throw new KruiseError(`resyncMs must be positive, got ${resyncMs}`, { reason: 'Invalid', fieldPath: 'resyncMs' });
  if (o.informers === undefined && o.nodeImages === undefined) {
    throw new KruiseError('the image puller needs informers or a NodeImage source', { reason: 'Invalid', fieldPath: 'informers' });
  }
  return Object.freeze({ nodeName: o.nodeName, resyncMs });
}

/** The node's NodeImage informer; shared with anything else on the agent that asks for the same scope. */
export function nodeImageInformer(informers: InformerFactory, nodeName: string): SharedInformer<NodeImage> {
  return informers.informerFor<NodeImage>(resources.nodeImages, { fieldSelector: `metadata.name=${nodeName}` });
}

export class ImagePullerController extends Controller {
  readonly nodeName: string;
  readonly puller: ImagePuller;
  readonly writer: NodeImageStatusWriter;
  private readonly nodeImages: NodeImageSource;
  private readonly unsubscribe: () => void;
  private readonly recorder: Pick<EventRecorder, 'event'>;
  private readonly cri: CriSource;
  private readonly pullClock: SchedulingClock;
  private readonly log: Logger;
  private readonly resyncMs: number;
  /** One task per tag key: running, or finished with its result. */
  private readonly tasks = new Map<string, PullTask>();
  /** Finished statuses adopted from the API, by tag key. */
  private adopted = new Map<string, ImageTagStatus>();

  constructor(options: ImagePullerControllerOptions) {
    const compiled = compileImagePullerControllerOptions(options);
    const self: { it?: ImagePullerController } = {};
    super({
      name: IMAGEPULLER_CONTROLLER_NAME,
      workers: 1,
      logger: options.logger,
      ...(options.controllerMetrics !== undefined ? { metrics: options.controllerMetrics } : {}),
      reconciler: { reconcile: async () => self.it?.sync() },
    });
    self.it = this;
    this.nodeName = compiled.nodeName;
    this.resyncMs = compiled.resyncMs;
    this.pullClock = options.clock ?? wallClock;
    this.recorder = options.recorder;
    this.cri = options.cri;
    this.log = options.logger.child({ component: 'imagepuller', node: this.nodeName });
    const metrics = options.metrics ?? (options.registry !== undefined ? new AgentMetrics(options.registry) : undefined);
    const secrets = new PullSecretReader({
      client: options.client, logger: options.logger,
      ...(options.secretTtlMs !== undefined ? { ttlMs: options.secretTtlMs } : {}),
    });
    this.nodeImages = options.nodeImages ?? informerNodeImageSource(nodeImageInformer(options.informers!, this.nodeName), this.nodeName);
    this.puller = new ImagePuller({
      cri: options.cri,
      credentials: (refs, signal) => secrets.keyring(refs, signal),
      clock: this.pullClock,
      logger: options.logger,
      onChange: (task) => this.taskChanged(task),
      ...(options.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: options.maxConcurrentPulls } : {}),
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      ...(options.jitter !== undefined ? { jitter: options.jitter } : {}),
      ...(metrics !== undefined ? { metrics } : {}),
    });
    this.writer = new NodeImageStatusWriter({
      nodeName: this.nodeName,
      client: options.client,
      observed: () => this.cachedNodeImage(),
      clock: this.pullClock,
      logger: options.logger,
      ...options.statusWriter,
      ...(metrics !== undefined ? { metrics } : {}),
    });
    this.unsubscribe = this.nodeImages.subscribe(() => this.enqueue(this.nodeName));
  }

  /**
   * Runs the CRI source (discovery), the reconcile loop and, on shutdown, stops the pulls (they record nothing) and
   * flushes pending status before resolving.
   */
  override async start(signal: AbortSignal): Promise<void> {
    const criRunning = this.cri.start?.(signal).catch((e: unknown) => {
      this.log.error({ err: e }, 'CRI connector stopped unexpectedly');
    });
    try {
      await super.start(signal);
    } finally {
      // A shared source outlives this controller (the sandbox restarts agents over one informer).
      this.unsubscribe();
      await this.puller.destroy('the agent is stopping');
      await this.writer.close();
      await criRunning;
    }
  }

  /** Tasks known for tags of this node (tests, diagnostics). */
  taskFor(image: string, tag: string): PullTask | undefined {
    return this.tasks.get(tagKey(image, tag));
  }

  private cachedNodeImage(): NodeImage | undefined {
    return this.nodeImages.get();
  }

  /** One reconcile of the node's NodeImage. */
  private async sync(): Promise<{ requeueAfterMs: number } | undefined> {
    const obj = this.cachedNodeImage();
    if (obj === undefined || obj.metadata.deletionTimestamp !== undefined) {
      // Gone or going: nothing to pull and no status to write.
      for (const task of this.tasks.values()) void this.puller.stop(task, 'stopped: the NodeImage is gone');
      this.tasks.clear();
      this.adopted.clear();
      this.writer.forget();
      return undefined;
    }
    const known = new Map<string, KnownTask>();
    for (const [key, t] of this.tasks) known.set(key, { image: t.image, tag: t.tag, version: t.version, finished: t.finished });
    const plan = planPulls(obj.spec, obj.status, known);

    for (const s of plan.stop) {
      const task = this.tasks.get(s.key);
      if (task === undefined) continue;
      this.tasks.delete(s.key);
      this.log.info({ image: task.image, tag: task.tag, version: task.version, reason: s.reason }, 'stopping image pull');
      void this.puller.stop(task, `stopped: ${s.reason}`);
    }
    const adopted = new Map<string, ImageTagStatus>();
    for (const a of plan.adopt) adopted.set(tagKey(a.image, a.tag), a.status);
    this.adopted = adopted;

    for (const s of plan.start) {
      const task = new PullTask({
        image: s.image, tag: s.tag, version: s.version,
        policy: compileTagPolicy(s.spec),
        pullSecrets: s.pullSecrets,
        ownerReferences: s.spec.ownerReferences ?? [],
        startTime: s.resumeStartTime ?? formatTime(this.pullClock.now()),
        resumed: s.resumeStartTime !== undefined,
      }, (t, from, to, accepted) => {
        if (!accepted) this.log.warn({ image: t.image, tag: t.tag, from, to }, 'illegal pull task transition refused');
        else this.log.debug({ image: t.image, tag: t.tag, from, to }, 'pull task transition');
      });
      this.tasks.set(task.key, task);
      this.puller.start(task);
    }
    this.publish(obj);
    return { requeueAfterMs: this.resyncMs };
  }

  /** Rebuilds the whole status from the spec, the tasks and the adopted statuses, and hands it to the writer. */
  private publish(obj: NodeImage | undefined = this.cachedNodeImage()): void {
    if (obj === undefined) return;
    const entries = new Map<string, ImageTagStatus>(this.adopted);
    for (const [key, task] of this.tasks) {
      const status = task.toStatus();
      if (status !== undefined) entries.set(key, status);
    }
    this.writer.set(buildNodeImageStatus(obj.spec, entries, obj.status));
  }

  private taskChanged(task: PullTask): void {
    // A task replaced or stopped meanwhile records nothing.
    if (this.tasks.get(task.key) !== task) return;
    this.publish();
    if (task.state === 'Succeeded') this.emitSucceeded(task);
    else if (task.state === 'Failed') this.emitFailed(task);
  }

  private nodeImageRef(): InvolvedObject {
    const obj = this.cachedNodeImage();
    return {
      apiVersion: obj?.apiVersion ?? 'apps.kruise.io/v1alpha1',
      kind: 'NodeImage',
      metadata: { name: this.nodeName, ...(obj?.metadata.uid !== undefined ? { uid: obj.metadata.uid } : {}) },
    };
  }

  private emitSucceeded(task: PullTask): void {
    const elapsed = Math.max(0, this.pullClock.now() - Date.parse(task.startTime)) / 1000;
    this.recorder.event(this.nodeImageRef(), 'Normal', EventReason.PullImageSucceed,
      `Image ${task.image}:${task.tag}, elapsedTime ${elapsed.toFixed(1)}s`);
  }

  private emitFailed(task: PullTask): void {
    const message = `Failed to pull image ${task.image}:${task.tag} on node ${this.nodeName} for ${task.message ?? 'unknown error'}`;
    for (const owner of task.ownerReferences) {
      if (owner.name === undefined || owner.name === '') continue;
      this.recorder.event({
        ...(owner.apiVersion !== undefined ? { apiVersion: owner.apiVersion } : {}),
        ...(owner.kind !== undefined ? { kind: owner.kind } : {}),
        metadata: {
          name: owner.name,
          ...(owner.namespace !== undefined ? { namespace: owner.namespace } : {}),
          ...(owner.uid !== undefined ? { uid: owner.uid } : {}),
        },
      }, 'Warning', EventReason.PullImageFailed, message);
    }
    this.recorder.event(this.nodeImageRef(), 'Warning', EventReason.PullImageFailed, message);
  }
}

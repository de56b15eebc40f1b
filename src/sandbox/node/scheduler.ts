/**
 * The sandbox scheduler: binds pods that have no `spec.nodeName` to a Ready node, as kube-scheduler would for the
 * cases the sandbox needs (decision: `decideNode` in scheduling.ts). A Controller (src/kube) over:
 * - pods with `spec.nodeName=` (a field-selected informer): each is a key to reconcile;
 * - every pod (the informer the emulated nodes share): pods per node, for spreading;
 * - nodes: readiness, cordon, labels, `allocatable.pods`. A node that appears or becomes schedulable re-queues
 *   every waiting pod, so an unschedulable pod is bound as soon as a node fits.
 *
 * Binding is `POST pods/<name>/binding`, then a `Scheduled` event ("Successfully assigned ns/pod to node"). The
 * chosen node is "assumed" at once (kube-scheduler's assume cache): pods bound but not yet seen bound in the cache
 * count on their node, so a burst of pods spreads instead of piling on the node that looked emptiest. A pod that
 * fits nowhere gets `PodScheduled=False` with reason `Unschedulable` and kube-scheduler's message through
 * `/status`, and a `FailedScheduling` event, written only when the message changes.
 *
 * Only pods for `default-scheduler` (or with no schedulerName) are taken, as kube-scheduler does.
 * Known gaps: no preemption, priorities, affinity, taints/tolerations or resource fit (decideNode's doc).
 */
import type { Logger } from 'pino';
import type { Condition, KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import { Controller, type ControllerMetricsProvider } from '../../kube/controller/controller.js';
import type { ReconcileContext, Reconciler } from '../../kube/controller/reconciler.js';
import type { EventRecorder } from '../../kube/events/index.js';
import type { InformerFactory } from '../../kube/informer/informer-factory.js';
import { objectKey } from '../../kube/informer/object-cache.js';
import type { SharedInformer } from '../../kube/informer/shared-informer.js';
import { isConflict, isNotFound } from '../../kube/kube-api-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { objectPath, resources } from '../../kube/resource-ref.js';
import { isNodeReady, rfc3339, type NodeObject } from './node-object.js';
import { decideNode, type SchedulableNode } from './scheduling.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** A Pod as the informers hold it (apiVersion and kind always set). */
type CachedPod = Pod & KubeObject;

export interface SandboxSchedulerOptions {
  client: KubeClient;
  /** Shared with the emulated nodes: the scheduler asks it for pods, pods without node, and nodes. */
  informers: InformerFactory;
  /** Events come from `default-scheduler`. */
  recorder: EventRecorder;
  logger: Logger;
  /** Binds in flight at once. @default 8 */
  workers?: number;
  metrics?: ControllerMetricsProvider;
  /** Wall clock, epoch ms. @default Date.now */
  now?: () => number;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function ours(pod: Pod): boolean {
  const s = pod.spec?.schedulerName;
  return s === undefined || s === '' || s === DEFAULT_SCHEDULER_NAME;
}

function schedulable(n: NodeObject): SchedulableNode {
  const maxPods = Number(n.status?.allocatable?.['pods']);
  return {
    name: n.metadata.name ?? '',
    labels: n.metadata.labels ?? {},
    ready: isNodeReady(n),
    unschedulable: n.spec?.unschedulable === true,
    podCount: 0,
    ...(Number.isInteger(maxPods) && maxPods > 0 ? { maxPods } : {}),
  };
}

/** Whether `b` may fit a pod `a` did not: it is new, or became ready, uncordoned, relabelled or bigger. */
function mayFitMore(a: SchedulableNode | undefined, b: SchedulableNode): boolean {
  if (!a) return true;
  return (!a.ready && b.ready) || (a.unschedulable && !b.unschedulable) || (b.maxPods ?? Infinity) > (a.maxPods ?? Infinity)
    || JSON.stringify(a.labels) !== JSON.stringify(b.labels);
}

export class SandboxScheduler implements Reconciler {
  private readonly controller: Controller;
  private readonly pending: SharedInformer<CachedPod>;
  private readonly allPods: SharedInformer<CachedPod>;
  private readonly nodeInformer: SharedInformer<NodeObject>;
  private readonly now: () => number;
  /** Schedulable view of each node, podCount kept current; `list` is rebuilt when a node comes or goes. */
  private readonly nodes = new Map<string, SchedulableNode>();
  private list: SchedulableNode[] = [];
  /** Active pods seen bound in the cache: pod key → node. */
  private readonly bound = new Map<string, string>();
  /** Pods we bound that the cache does not show bound yet: pod key → node. */
  private readonly assumed = new Map<string, string>();
  /** Node → pods bound or assumed there (for nodes not (yet) known too). */
  private readonly counts = new Map<string, number>();

  constructor(private readonly o: SandboxSchedulerOptions) {
    this.now = o.now ?? Date.now;
    this.pending = o.informers.informerFor<CachedPod>(resources.pods, { fieldSelector: 'spec.nodeName=' });
    this.allPods = o.informers.informerFor<CachedPod>(resources.pods);
    this.nodeInformer = o.informers.informerFor<NodeObject>(resources.nodes);
    this.controller = new Controller({
      name: 'sandbox-scheduler', reconciler: this, workers: o.workers ?? 8, logger: o.logger,
      ...(o.metrics ? { metrics: o.metrics } : {}), shutdownGraceMs: 5000,
    });
    this.pending.addHandler({
      onAdd: (p) => this.enqueue(p),
      onUpdate: (_old, p) => this.enqueue(p),
    });
    this.allPods.addHandler({
      onAdd: (p) => this.track(p),
      onUpdate: (_old, p) => this.track(p),
      onDelete: (p) => this.untrack(objectKey(p)),
    });
    this.nodeInformer.addHandler({
      onAdd: (n) => this.nodeChanged(n),
      onUpdate: (_old, n) => this.nodeChanged(n),
      onDelete: (n) => { this.nodes.delete(n.metadata.name ?? ''); this.list = [...this.nodes.values()]; },
    });
  }

  /** Waits for the informers' first lists, then binds until `signal` aborts; resolves when workers stopped. */
  async start(signal: AbortSignal): Promise<void> {
    try {
      await Promise.all([this.pending.waitForSync(signal), this.allPods.waitForSync(signal), this.nodeInformer.waitForSync(signal)]);
    } catch {
      if (signal.aborted) { await this.controller.close(); return; }
    }
    await this.controller.start(signal);
  }

  /** Pods bound or being bound to `node` (for tests and diagnostics). */
  podCount(node: string): number { return this.counts.get(node) ?? 0; }

  private enqueue(p: CachedPod): void {
    if (!p.spec?.nodeName && ours(p)) this.controller.enqueue(objectKey(p));
  }

  private addCount(node: string, delta: number): void {
    const n = (this.counts.get(node) ?? 0) + delta;
    if (n === 0) this.counts.delete(node); else this.counts.set(node, n);
    const rec = this.nodes.get(node);
    if (rec) rec.podCount = n;
  }

  private track(p: CachedPod): void {
    const key = objectKey(p);
    const node = p.spec?.nodeName;
    if (!node) return;
    const assumedOn = this.assumed.get(key);
    if (assumedOn !== undefined) { this.assumed.delete(key); this.addCount(assumedOn, -1); }
    const was = this.bound.get(key);
    if (isTerminal(p)) {
      if (was !== undefined) { this.bound.delete(key); this.addCount(was, -1); }
      return;
    }
    if (was === undefined) { this.bound.set(key, node); this.addCount(node, 1); }
  }

  private untrack(key: string): void {
    const was = this.bound.get(key);
    if (was !== undefined) { this.bound.delete(key); this.addCount(was, -1); }
    const assumedOn = this.assumed.get(key);
    if (assumedOn !== undefined) { this.assumed.delete(key); this.addCount(assumedOn, -1); }
  }

  private nodeChanged(n: NodeObject): void {
    const next = schedulable(n);
    next.podCount = this.counts.get(next.name) ?? 0;
    const prev = this.nodes.get(next.name);
    this.nodes.set(next.name, next);
    this.list = [...this.nodes.values()];
    if (mayFitMore(prev, next)) for (const p of this.pending.cache.list()) this.enqueue(p);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const pod = this.pending.cache.get(key);
    if (!pod || pod.spec?.nodeName || !ours(pod) || pod.metadata.deletionTimestamp || isTerminal(pod)) return;
    if (this.assumed.has(key) || this.bound.has(key)) return;
    const decision = decideNode({ ...(pod.spec.nodeSelector ? { nodeSelector: pod.spec.nodeSelector } : {}) }, this.list);
    if (decision.kind === 'unschedulable') {
      await this.markUnschedulable(pod, decision.message, ctx);
      return;
    }
    const node = decision.node;
    // Assume before the request, synchronously after deciding: another worker deciding now sees this pod.
    this.assumed.set(key, node);
    this.addCount(node, 1);
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    try {
      await this.o.client.request({
        method: 'POST', verb: 'CREATE', resource: 'pods', signal: ctx.signal,
        path: `${objectPath(resources.pods, ns, name)}/binding`,
        body: {
          apiVersion: 'v1', kind: 'Binding',
          metadata: { name, namespace: ns, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
      });
    } catch (e) {
      if (this.assumed.get(key) === node) { this.assumed.delete(key); this.addCount(node, -1); }
      // Gone, or bound by someone else meanwhile: nothing left to do; the cache will show it.
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
    ctx.logger.debug({ node }, 'pod bound');
    this.o.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
    // The binding sets spec.nodeName only; a PodScheduled=False left from an earlier attempt must not linger.
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled && scheduled.status !== 'True') await this.writeScheduledCondition(pod, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(new Date(this.now())) }, ctx);
  }

  private async markUnschedulable(pod: Pod, message: string, ctx: ReconcileContext): Promise<void> {
    const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (prev && prev.status === 'False' && prev.reason === 'Unschedulable' && prev.message === message) return;
    ctx.logger.info({ message }, 'pod is unschedulable');
    await this.writeScheduledCondition(pod, {
      type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null,
      lastTransitionTime: prev && prev.status === 'False' && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(new Date(this.now())),
    }, ctx);
    this.o.recorder.event(pod, 'Warning', 'FailedScheduling', message);
  }

  /** A strategic merge patch of one condition (merged by `type`) through `/status`. */
  private async writeScheduledCondition(pod: Pod, condition: Condition, ctx: ReconcileContext): Promise<void> {
    try {
      await this.o.client.patch(resources.pods, pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', 'strategic',
        { status: { conditions: [condition] } }, { subresource: 'status', signal: ctx.signal });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}

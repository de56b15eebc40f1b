/**
 * One emulated node: registers its Node (labels, capacity, nodeInfo from CRI Version, conditions from CRI
 * Status), keeps it alive (NodeHeartbeat), and owns the pod lifecycle of the pods bound to it (a NodePods, built
 * apart: node-pods-contract.ts). It does not watch anything itself: `startSandboxNodes` feeds it its pods from one
 * pod informer shared by every node (one watch, not a thousand).
 *
 * Lifecycle (`EmulatedNodeState`): `new` → `registered` (Node and Lease exist) → `running` (pod workers and
 * heartbeats run) → `stopping` → `stopped` (pod workers stopped and, on `stop({teardown: true})`, every container
 * and sandbox it made removed from the runtime). The Node object stays in the API after stop, as when kubelet
 * stops; the sandbox's API server is in memory anyway.
 */
import { createHash } from 'node:crypto';
import { arch as processArch } from 'node:process';
import type { Logger } from 'pino';
import type { Pod } from '../../api/pod-types.js';
import type { CriApi } from '../../cri/cri-api.js';
import type { EventRecorder } from '../../kube/events/index.js';
import { isAlreadyExists } from '../../kube/kube-api-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import type { CreateNodePods, NodePods } from './node-pods-contract.js';
import { NodeHeartbeat, type NodeHeartbeatOptions } from './node-heartbeat.js';
import { buildNodeObject, goArch, type NodeCapacity, type NodeObject } from './node-object.js';

/**
 * - `new`: constructed; pods may already be observed (they wait for `start`).
 * - `registered`: the Node is in the API.
 * - `running`: heartbeats and pod workers run.
 * - `stopping`: `stop` began.
 * - `stopped`: final.
 */
export type EmulatedNodeState = 'new' | 'registered' | 'running' | 'stopping' | 'stopped';

export interface EmulatedNodeOptions {
  name: string;
  cri: CriApi;
  client: KubeClient;
  createNodePods: CreateNodePods;
  recorder: EventRecorder;
  logger: Logger;
  /** Extra Node labels (`--node-labels`). */
  labels?: Readonly<Record<string, string>>;
  capacity?: Readonly<NodeCapacity>;
  /** Put on every pod sandbox this node makes, so a node sees only its own on a shared runtime. */
  sandboxLabels?: Readonly<Record<string, string>>;
  heartbeat?: Pick<NodeHeartbeatOptions, 'leaseRenewMs' | 'statusReportMs' | 'leaseDurationSeconds' | 'random'>;
  /** Wall clock, epoch ms. @default Date.now */
  now?: () => number;
}

export class EmulatedNode {
  readonly name: string;
  readonly pods: NodePods;
  /** The node's runtime: its pod lifecycle and its agent (the image puller) call the same client. */
  readonly cri: CriApi;
  private readonly log: Logger;
  private readonly now: () => number;
  private current: EmulatedNodeState = 'new';
  private heartbeat: NodeHeartbeat | undefined;
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly o: EmulatedNodeOptions) {
    this.name = o.name;
    this.cri = o.cri;
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ node: o.name });
    this.pods = o.createNodePods({
      nodeName: o.name, cri: o.cri, client: o.client, recorder: o.recorder, logger: this.log, now: this.now,
      ...(o.sandboxLabels ? { sandboxLabels: o.sandboxLabels } : {}),
    });
  }

  get state(): EmulatedNodeState { return this.current; }

  /** Whether the node last reported Ready=True. */
  get ready(): boolean { return this.heartbeat?.ready ?? false; }

  private transition(from: readonly EmulatedNodeState[], to: EmulatedNodeState): boolean {
    if (!from.includes(this.current)) {
      this.log.debug({ from: this.current, to }, 'ignored illegal node state change');
      return false;
    }
    this.log.debug({ from: this.current, to }, 'node state change');
    this.current = to;
    return true;
  }

  /** The Node object this node registers, from its runtime's answers. */
  async nodeObject(signal?: AbortSignal): Promise<NodeObject> {
    const opts = signal ? { signal } : {};
    const version = await this.o.cri.version({}, opts);
    const status = await this.o.cri.status({}, opts);
    const rr = status.status?.conditions?.find((c) => c?.type === 'RuntimeReady');
    return buildNodeObject({
      name: this.name,
      ...(this.o.labels ? { labels: this.o.labels } : {}),
      ...(this.o.capacity ? { capacity: this.o.capacity } : {}),
      runtime: { runtimeName: version.runtimeName, runtimeVersion: version.runtimeVersion },
      architecture: goArch(processArch),
      machineId: createHash('sha256').update(`kruise-ts-node/${this.name}`).digest('hex').slice(0, 32),
      runtimeReady: rr?.status === true,
      ...(rr?.status === true ? {} : { runtimeMessage: rr?.message || 'RuntimeReady=false' }),
      now: new Date(this.now()),
    });
  }

  /**
   * Creates the Node (with its status) and its Lease. A Node of this name that already exists is taken over: its
   * labels and status are replaced by ours, as kubelet reconciles an existing Node on start.
   */
  async register(signal?: AbortSignal): Promise<void> {
    if (this.current !== 'new') return;
    const desired = await this.nodeObject(signal);
    let created: NodeObject;
    try {
      created = await this.o.client.create<NodeObject>(resources.nodes, desired, signal);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await this.o.client.get<NodeObject>(resources.nodes, '', this.name, signal);
      await this.o.client.patch(resources.nodes, '', this.name, 'merge', { metadata: { labels: desired.metadata.labels } }, signal ? { signal } : {});
      created = await this.o.client.patch<NodeObject>(resources.nodes, '', this.name, 'merge', { status: desired.status }, { subresource: 'status', ...(signal ? { signal } : {}) });
      this.log.info({ uid: existing.metadata.uid }, 'took over an existing Node');
    }
    this.heartbeat = new NodeHeartbeat({
      nodeName: this.name, nodeUid: created.metadata.uid ?? '', client: this.o.client, cri: this.o.cri, logger: this.log,
      conditions: created.status?.conditions ?? desired.status?.conditions ?? [], now: this.now, ...this.o.heartbeat,
    });
    await this.heartbeat.renewLease(signal);
    this.transition(['new'], 'registered');
    this.log.info({ ready: this.ready, runtime: desired.status?.nodeInfo?.containerRuntimeVersion }, 'node registered');
  }

  /** Starts heartbeats and pod workers; `register` first. Resolves at once; `stop` waits for them. */
  start(): void {
    if (!this.transition(['registered'], 'running')) return;
    const signal = this.stopController.signal;
    this.running = Promise.all([
      this.heartbeat!.start(signal),
      this.pods.start(signal).catch((e: unknown) => { this.log.error({ err: e }, 'pod workers failed'); }),
    ]).then(() => undefined);
  }

  /** A pod bound to this node was added or changed. */
  observe(pod: Pod): void {
    if (this.current === 'stopping' || this.current === 'stopped') return;
    this.pods.observe(pod);
  }

  /** A pod bound to this node is gone from the API. */
  forget(namespace: string, name: string, uid: string): void {
    if (this.current === 'stopping' || this.current === 'stopped') return;
    this.pods.forget(namespace, name, uid);
  }

  /** Stops heartbeats and pod workers; with `teardown`, removes every container and sandbox this node made. */
  async stop(o: { teardown: boolean }): Promise<void> {
    if (!this.transition(['new', 'registered', 'running'], 'stopping')) return;
    this.stopController.abort();
    await this.running;
    if (o.teardown) {
      try {
        await this.pods.teardown();
      } catch (e) {
        this.log.error({ err: e }, 'pod teardown failed');
      }
    }
    this.transition(['stopping'], 'stopped');
  }
}

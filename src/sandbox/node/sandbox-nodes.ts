/**
 * The sandbox's nodes: N emulated nodes, their runtimes, the pod informer they share and the sandbox scheduler.
 *
 * Runtimes, one per node, each behind the same `CriApi` (nothing above it differs):
 * - built-in, over gRPC (the default while `count <= inProcessAbove`): one `BuiltinRuntime` per node served on
 *   `<socketDir>/n<i>.sock` and reached by a `CriClient`, exactly as the agent reaches containerd;
 * - built-in, in-process (above `inProcessAbove` nodes): the same runtime through `InProcessCriClient`, which
 *   makes the same trip through the proto without a socket — a thousand gRPC servers and channels would cost
 *   hundreds of MiB and file descriptors for no added fidelity;
 * - a real runtime (`criEndpoint`): one `CriClient` per node to that socket. Every sandbox a node makes carries
 *   `kruise-ts.io/node=<node>`, so each node sees and removes only its own. Sandboxes left with our labels by a
 *   run that was killed are removed at start; on `stop()` every node tears down what it made, and a last sweep
 *   removes whatever still carries a node's label.
 * All built-in runtimes share one `BuiltinRegistry` (a digest learnt on one node pulls the same image on another).
 *
 * Pods reach their node from ONE informer over all pods, dispatched by `spec.nodeName` (one watch for the whole
 * sandbox, not one per node). Node names: `kruise-ts-node-1` … `kruise-ts-node-N`.
 */
import { setMaxListeners } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { KruiseError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import type { CriApi } from '../../cri/cri-api.js';
import { CriClient } from '../../cri/cri-client.js';
import { parseCriEndpoint } from '../../cri/cri-endpoint.js';
import { loadCriProto } from '../../cri/proto-loading.js';
import { EventRecorder } from '../../kube/events/index.js';
import { InformerFactory } from '../../kube/informer/informer-factory.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import { BuiltinRegistry } from '../cri/builtin-registry.js';
import { BuiltinRuntime } from '../cri/builtin-runtime.js';
import { DEFAULT_PULL_LATENCY_MS } from '../cri/builtin-runtime-options.js';
import { serveBuiltinRuntime, type BuiltinRuntimeServer } from '../cri/grpc-server.js';
import { InProcessCriClient } from '../cri/in-process-client.js';
import { EmulatedNode } from './emulated-node.js';
import type { NodeHeartbeatOptions } from './node-heartbeat.js';
import type { NodeCapacity } from './node-object.js';
import type { CreateNodePods } from './node-pods-contract.js';
import { SandboxScheduler } from './scheduler.js';

/** Label on every pod sandbox a node makes: the node's name. */
export const SANDBOX_NODE_LABEL = 'kruise-ts.io/node';
export const NODE_NAME_PREFIX = 'kruise-ts-node-';

export function sandboxNodeName(i: number): string {
  return `${NODE_NAME_PREFIX}${i}`;
}

export interface SandboxNodesOptions {
  /** Nodes to run; at least 1. */
  count: number;
  /** The nodes' and the scheduler's client of the sandbox API server. */
  client: KubeClient;
  /** A real CRI runtime for every node (`unix:///run/containerd/containerd.sock`); absent: the built-in one. */
  criEndpoint?: string;
  /** Built-in runtime: the fixed time every image pull takes, in seconds (`--image-pull-seconds`). @default 2 */
  imagePullSeconds?: number;
  /** Extra labels of every Node (`--node-labels`). */
  nodeLabels?: Readonly<Record<string, string>>;
  logger: Logger;
  /** The pod lifecycle of one node (src/sandbox/node/pods). */
  createNodePods: CreateNodePods;
  /** Above this many nodes, built-in runtimes are reached in-process instead of over gRPC. @default 50 */
  inProcessAbove?: number;
  /** Where the built-in runtimes' sockets go (kept short: unix socket paths end at 107 bytes). @default /tmp/kts-<pid> */
  socketDir?: string;
  capacity?: Readonly<NodeCapacity>;
  heartbeat?: Pick<NodeHeartbeatOptions, 'leaseRenewMs' | 'statusReportMs' | 'leaseDurationSeconds'>;
  /** Scheduler binds in flight. @default 8 */
  schedulerWorkers?: number;
  /** Node registrations, teardowns and runtime set-ups at once. @default 16 */
  parallelism?: number;
}

export interface CompiledSandboxNodesOptions extends Readonly<Omit<SandboxNodesOptions, 'imagePullSeconds' | 'inProcessAbove' | 'socketDir' | 'parallelism' | 'nodeLabels'>> {
  readonly imagePullSeconds: number;
  readonly inProcessAbove: number;
  readonly socketDir: string;
  readonly parallelism: number;
  readonly nodeLabels: Readonly<Record<string, string>>;
}

function invalid(message: string, fieldPath: string): KruiseError {
  return new KruiseError(message, { reason: 'Invalid', fieldPath });
}

/** Validates once (STYLE habit 11). */
export function compileSandboxNodesOptions(o: SandboxNodesOptions): CompiledSandboxNodesOptions {
  if (!Number.isInteger(o.count) || o.count < 1) throw invalid(`count must be a whole number of at least 1, got ${o.count}`, 'count');
  const imagePullSeconds = o.imagePullSeconds ?? 2;
  if (!(Number.isFinite(imagePullSeconds) && imagePullSeconds >= 0)) throw invalid(`imagePullSeconds must be a non-negative number, got ${imagePullSeconds}`, 'imagePullSeconds');
  const inProcessAbove = o.inProcessAbove ?? 50;
  if (!Number.isInteger(inProcessAbove) || inProcessAbove < 0) throw invalid(`inProcessAbove must be a non-negative whole number, got ${inProcessAbove}`, 'inProcessAbove');
  const parallelism = o.parallelism ?? 16;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw invalid(`parallelism must be a positive whole number, got ${parallelism}`, 'parallelism');
  if (o.criEndpoint !== undefined) parseCriEndpoint(o.criEndpoint);
  return Object.freeze({
    ...o, imagePullSeconds, inProcessAbove, parallelism,
    socketDir: o.socketDir ?? join('/tmp', `kts-${process.pid}`),
    nodeLabels: Object.freeze({ ...o.nodeLabels }),
  });
}

/** How the nodes reach their runtimes. */
export type NodeRuntimeTransport = 'grpc' | 'in-process' | 'remote';

export interface SandboxNodes {
  readonly nodes: readonly EmulatedNode[];
  readonly scheduler: SandboxScheduler;
  readonly transport: NodeRuntimeTransport;
  /** The built-in runtimes (none on a real runtime), for tests and benchmarks; `runtimes[i]` is `nodes[i]`'s. */
  readonly runtimes: readonly BuiltinRuntime[];
  /** Resolves once every node has reported Ready and the scheduler's caches are filled. */
  ready(signal?: AbortSignal): Promise<void>;
  /**
   * Adds node N+1 at runtime, on the same kind of runtime as the others, and resolves once it is registered and
   * running (`Sandbox.addNode` also starts its agent). Over gRPC it gets its own socket as the first nodes did.
   */
  addNode(): Promise<EmulatedNode>;
  /** Stops the scheduler and the nodes; on a real runtime removes every container and sandbox they made. */
  stop(): Promise<void>;
}

interface NodeRuntime { cri: CriApi; server?: BuiltinRuntimeServer; runtime?: BuiltinRuntime }

/** Stops and removes every pod sandbox labelled for `node` (containers go with their sandbox). */
async function sweepNodeSandboxes(cri: CriApi, node: string, log: Logger): Promise<number> {
  const { items } = await cri.listPodSandbox({ filter: { labelSelector: { [SANDBOX_NODE_LABEL]: node } } });
  for (const s of items) {
    if (!s) continue;
    await cri.stopPodSandbox({ podSandboxId: s.id });
    await cri.removePodSandbox({ podSandboxId: s.id });
  }
  if (items.length > 0) log.info({ node, sandboxes: items.length }, 'removed pod sandboxes left on the runtime');
  return items.length;
}

export async function startSandboxNodes(options: SandboxNodesOptions): Promise<SandboxNodes> {
  const o = compileSandboxNodesOptions(options);
  const log = o.logger.child({ component: 'sandbox-nodes' });
  const limit = pLimit(o.parallelism);
  const names = Array.from({ length: o.count }, (_, i) => sandboxNodeName(i + 1));
  const transport: NodeRuntimeTransport = o.criEndpoint !== undefined ? 'remote' : o.count > o.inProcessAbove ? 'in-process' : 'grpc';
  const proto = loadCriProto();
  const runtimes: NodeRuntime[] = [];
  // All built-in runtimes share one registry (a digest learnt on one node pulls the same image on another).
  const registry = new BuiltinRegistry();
  /** The runtime of node `i` (0-based): a client of the real one, or a new built-in one. */
  const makeRuntime = async (i: number): Promise<NodeRuntime> => {
    if (transport === 'remote') return { cri: new CriClient({ endpoint: o.criEndpoint!, proto, logger: o.logger }) };
    // `imagePullSeconds` is what pulling an absent image takes; a present one costs only the manifest check, so a
    // pre-pulled image (ImagePullJob, CloneSet pre-download) makes the later `Always` pull of a restart fast.
    const pullMs = o.imagePullSeconds * 1000;
    const manifestMs = Math.min(DEFAULT_PULL_LATENCY_MS, pullMs);
    const runtime = new BuiltinRuntime({ registry, pullLatencyMs: manifestMs, downloadLatencyMs: pullMs - manifestMs, logger: o.logger });
    if (transport === 'in-process') return { runtime, cri: new InProcessCriClient({ runtime, proto }) };
    const server = await serveBuiltinRuntime({ socketPath: join(o.socketDir, `n${i + 1}.sock`), runtime, proto, logger: o.logger });
    return { runtime, server, cri: new CriClient({ endpoint: server.address, proto, logger: o.logger }) };
  };
  const cleanupRuntimes = async (): Promise<void> => {
    await Promise.all(runtimes.map((r) => limit(async () => {
      await r.cri.close().catch(() => undefined);
      await r.server?.close().catch(() => undefined);
    })));
    if (transport === 'grpc') await rm(o.socketDir, { recursive: true, force: true });
  };

  try {
    if (transport === 'remote') {
      for (let i = 0; i < o.count; i++) runtimes.push(await makeRuntime(i));
      // Fail fast with the endpoint named, rather than nodes that never register.
      try {
        await runtimes[0]!.cri.version({}, { timeoutMs: 10_000 });
      } catch (e) {
        throw new KruiseError(`the CRI runtime at ${o.criEndpoint} does not answer: ${e instanceof Error ? e.message : String(e)}`, { reason: 'Unavailable', cause: e });
      }
      await Promise.all(names.map((n, i) => limit(() => sweepNodeSandboxes(runtimes[i]!.cri, n, log))));
    } else {
      if (transport === 'grpc') await mkdir(o.socketDir, { recursive: true, mode: 0o700 });
      const made = await Promise.all(names.map((_, i) => limit(() => makeRuntime(i))));
      runtimes.push(...made);
    }
  } catch (e) {
    await cleanupRuntimes();
    throw e;
  }

  const informers = new InformerFactory({ client: o.client, logger: o.logger });
  const recorders: EventRecorder[] = [];
  const recorder = (component: string, host?: string): EventRecorder => {
    const r = new EventRecorder({ client: o.client, component, ...(host ? { host } : {}), logger: o.logger });
    recorders.push(r);
    return r;
  };
  const makeNode = (name: string, cri: CriApi): EmulatedNode => new EmulatedNode({
    name, cri, client: o.client, createNodePods: o.createNodePods, recorder: recorder('kubelet', name),
    logger: o.logger, labels: o.nodeLabels, sandboxLabels: { [SANDBOX_NODE_LABEL]: name },
    ...(o.capacity ? { capacity: o.capacity } : {}), ...(o.heartbeat ? { heartbeat: o.heartbeat } : {}),
  });
  const nodes = names.map((name, i) => makeNode(name, runtimes[i]!.cri));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const pods = informers.informerFor<Pod & KubeObject>(resources.pods);
  pods.addHandler({
    onAdd: (p) => { if (p.spec?.nodeName) byName.get(p.spec.nodeName)?.observe(p); },
    onUpdate: (_old, p) => { if (p.spec?.nodeName) byName.get(p.spec.nodeName)?.observe(p); },
    onDelete: (p) => {
      if (p.spec?.nodeName) byName.get(p.spec.nodeName)?.forget(p.metadata.namespace ?? '', p.metadata.name ?? '', p.metadata.uid ?? '');
    },
  });
  const scheduler = new SandboxScheduler({
    client: o.client, informers, recorder: recorder('default-scheduler'), logger: o.logger,
    ...(o.schedulerWorkers ? { workers: o.schedulerWorkers } : {}),
  });

  const stopController = new AbortController();
  // Every node's heartbeat and pod workers listen on it: a thousand listeners are expected, not a leak.
  setMaxListeners(4 * o.count + 16, stopController.signal);
  let running: Promise<unknown> = Promise.resolve();
  try {
    await Promise.all(nodes.map((n) => limit(() => n.register(stopController.signal))));
    for (const n of nodes) n.start();
    running = Promise.all([informers.start(stopController.signal), scheduler.start(stopController.signal)]);
  } catch (e) {
    stopController.abort();
    await Promise.all(nodes.map((n) => limit(() => n.stop({ teardown: transport === 'remote' }))));
    for (const r of recorders) r.destroy();
    await cleanupRuntimes();
    throw e;
  }
  log.info({ nodes: o.count, transport, criEndpoint: o.criEndpoint, imagePullSeconds: o.imagePullSeconds }, 'sandbox nodes registered');

  let stopped: Promise<void> | undefined;
  const addNode = async (): Promise<EmulatedNode> => {
    if (stopped !== undefined) throw new KruiseError('the sandbox nodes are stopping', { reason: 'Unavailable' });
    const i = nodes.length;
    const name = sandboxNodeName(i + 1);
    const rt = await makeRuntime(i);
    runtimes.push(rt);
    const node = makeNode(name, rt.cri);
    nodes.push(node);
    byName.set(name, node);
    setMaxListeners(4 * nodes.length + 16, stopController.signal);
    if (transport === 'remote') await sweepNodeSandboxes(rt.cri, name, log);
    // Pushed before registering: a failure leaves it to stop(), which stops and tears down every node.
    await node.register(stopController.signal);
    node.start();
    log.info({ node: name, nodes: nodes.length }, 'sandbox node added');
    return node;
  };
  return {
    nodes,
    scheduler,
    transport,
    get runtimes(): readonly BuiltinRuntime[] { return runtimes.flatMap((r) => (r.runtime ? [r.runtime] : [])); },
    addNode,
    async ready(signal?: AbortSignal): Promise<void> {
      await informers.waitForSync(signal);
      // Readiness is local state the heartbeats keep; polling it is cheaper than a promise per node.
      while (!nodes.every((n) => n.ready)) await sleep(100, undefined, { ref: false, ...(signal ? { signal } : {}) });
    },
    stop(): Promise<void> {
      stopped ??= (async () => {
        log.info({ nodes: nodes.length }, 'stopping sandbox nodes');
        stopController.abort();
        const teardown = transport === 'remote';
        // On a real runtime nothing may be left behind; the built-in runtimes go with the process.
        await Promise.all(nodes.map((n, i) => limit(async () => {
          await n.stop({ teardown });
          if (teardown) await sweepNodeSandboxes(runtimes[i]!.cri, n.name, log).catch((e: unknown) => log.error({ err: e, node: n.name }, 'sweep of pod sandboxes failed'));
        })));
        await running.catch((e: unknown) => log.error({ err: e }, 'scheduler or informers failed'));
        for (const r of recorders) r.destroy();
        await cleanupRuntimes();
        log.info('sandbox nodes stopped');
      })();
      return stopped;
    },
  };
}

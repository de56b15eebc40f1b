/**
 * The sandbox's ImagePullJob pipeline (issue 7), wired as on a cluster but in one process:
 * - the coordinator's ImagePullJob and NodeImage controllers (and the SidecarSet and CloneSet controllers) in one `Manager` (no leader election: there is one
 *   sandbox process), with the coordinator's own client, as `kruise-ts coordinator` runs them (cli/runtime-role.ts);
 * - one agent image puller (`ImagePullerController`) per emulated node, on that node's `CriApi` (the very client its
 *   pod lifecycle uses), with `maxConcurrentPulls` as `kruise-ts agent --max-concurrent-pulls`.
 *
 * The agents are what must stay cheap at a thousand nodes. A production agent watches its own NodeImage through a
 * field-selected informer; a thousand such watches would hold a thousand connections and as many caches here. So
 * the sandbox's agents share ONE informer over all NodeImages and ONE client, and each reads its node's object from
 * that cache by name (`NodeImageSource`); an event is dispatched only to the agent of the object's node, never to
 * all of them. Each agent keeps what is per node on a real cluster: its own controller and work queue, puller (its
 * pull slots), status writer (its write pacing) and event recorder (`source.host` = the node).
 *
 * Each agent also runs the SidecarSet hot-upgrade swap (`HotUpgradeController`, src/agent/hotupgrade) on its node's
 * runtime. Its Pods come from ONE informer over all Pods in the agents' factory, indexed by `spec.nodeName`
 * (`PodsByNode`), so an event reaches only the agent of the Pod's node, as the NodeImages do.
 *
 * `runCoordinator: false` leaves the coordinator out (the agents stay): one in another process reconciles, as
 * `kruise-ts coordinator` against the sandbox's kubeconfig, so its own cost can be measured apart (bench/).
 *
 * Only with `KruiseDaemon` on (spec §0.1), as on a cluster. Agents can be added (a node added at runtime) and
 * stopped and started again (an agent restart mid-job): each start is a fresh controller, as a new agent pod is.
 *
 * Shutdown order (`stop`): agents first — their pulls are cancelled and pending statuses flushed while the API
 * server and the nodes' runtimes are still there — then the coordinator. The caller stops the nodes after.
 */
import { setMaxListeners } from 'node:events';
import type { ClusterAccess } from '../kube/kubeconfig-loader.js';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { fixedCriSource } from '../agent/cri-connector.js';
import {
  HotUpgradeController, type HotUpgradeControllerOptions, type NodePodSource,
} from '../agent/hotupgrade/swap-controller.js';
import { PromSwapMetrics } from '../agent/hotupgrade/swap-metrics.js';
import type { Pod } from '../api/pod-types.js';
import type { KubeObject } from '../api/meta.js';
import {
  ImagePullerController, type ImagePullerControllerOptions, type NodeImageSource,
} from '../agent/imagepuller/imagepuller-controller.js';
import { KruiseError } from '../api/errors.js';
import type { FeatureGates } from '../api/feature-gates.js';
import type { NodeImage } from '../api/nodeimage-types.js';
import { VERSION } from '../api/version.js';
import {
  registerImagePullControllers, type ImagePullControllersOptions,
} from '../coordinator/imagepulljob/register-controllers.js';
import { registerCloneSetControllers } from '../coordinator/cloneset/register-controllers.js';
import type { CloneSetControllerOptions } from '../coordinator/cloneset/cloneset-controller.js';
import {
  registerSidecarSetController, type SidecarSetControllerOptions,
} from '../coordinator/sidecarset/sidecarset-controller.js';
import { makeClient } from '../kube/client-config.js';
import { EventRecorder } from '../kube/events/index.js';
import { InformerFactory } from '../kube/informer/informer-factory.js';
import type { SharedInformer } from '../kube/informer/shared-informer.js';
import type { KubeClient } from '../kube/kube-client.js';
import { Manager } from '../kube/manager.js';
import { KubeMetrics } from '../kube/metrics.js';
import { resources } from '../kube/resource-ref.js';
import type { CriApi } from '../cri/cri-api.js';

/** What an agent needs of a node: its name and its runtime. `EmulatedNode` is one. */
export interface AgentNode {
  readonly name: string;
  readonly cri: CriApi;
}

export interface SandboxImagePullOptions {
  /** The sandbox's kubeconfig; the coordinator and the agents each get their own client from it. */
  kubeConfig: ClusterAccess;
  gates: Pick<FeatureGates, 'enabled'>;
  /** The nodes at start; more come through `addAgent`. */
  nodes: readonly AgentNode[];
  logger: Logger;
  /** Each agent's PullImage calls at once (`--max-concurrent-pulls`). @default 2 */
  maxConcurrentPulls?: number;
  /**
   * Run the coordinator's controllers here. false: a coordinator in another process reconciles (`kruise-ts sandbox
   * --no-coordinator`); the agents still run. @default true
   */
  runCoordinator?: boolean;
  /** Coordinator tuning (tests shorten its timeouts). */
  coordinator?: ImagePullControllersOptions;
  /** SidecarSet controller tuning. */
  sidecarSet?: SidecarSetControllerOptions;
  /** CloneSet controller tuning. */
  cloneSet?: CloneSetControllerOptions;
  /** Agent tuning (tests shorten backoff and write pacing). */
  agent?: Pick<ImagePullerControllerOptions, 'backoff' | 'jitter' | 'statusWriter' | 'resyncMs' | 'secretTtlMs'>;
  /** Hot-upgrade swap tuning (tests shorten the timeout and poll). */
  hotUpgrade?: Pick<HotUpgradeControllerOptions, 'timeoutMs' | 'pollMs' | 'workers'>;
  /** Agent starts and stops at once (sandbox start and close). @default 16 */
  parallelism?: number;
}

/** One node's agent, as seen from outside (tests, diagnostics). */
export interface SandboxAgent {
  readonly nodeName: string;
  /** The current controller (a new one after each restart). */
  readonly controller: ImagePullerController;
  /** The current hot-upgrade swap controller (a new one after each restart). */
  readonly swap: HotUpgradeController;
  /** Started and not stopped through `stopAgent` or `stop`. */
  readonly running: boolean;
}

export interface SandboxImagePull {
  /**
   * The coordinator's Manager (ImagePullJob/NodeImage controllers only with `KruiseDaemon` on; SidecarSet always);
   * undefined with `runCoordinator: false`.
   */
  readonly coordinator: Manager | undefined;
  /** Whether agents run (`KruiseDaemon` on). */
  readonly enabled: boolean;
  /** The agents' metrics (hot-upgrade swaps: `kruise_agent_sidecar_hot_upgrade*`). */
  readonly agentRegistry: Registry;
  /** Resolves once the coordinator's and the agents' caches are filled. */
  ready(signal?: AbortSignal): Promise<void>;
  agent(nodeName: string): SandboxAgent | undefined;
  /** Starts the agent of a node added after start; resolves once it runs. A no-op with `KruiseDaemon` off. */
  addAgent(node: AgentNode): Promise<void>;
  /** Stops one node's agent as a stopping agent pod does (pulls cancelled, pending status flushed). */
  stopAgent(nodeName: string): Promise<void>;
  /** Starts a fresh agent on a node whose agent was stopped: it resumes from the NodeImage status, as a new pod. */
  startAgent(nodeName: string): Promise<void>;
  /**
   * Stops the coordinator's Manager (in-flight reconciles aborted) and starts a fresh one with `gates` (default: the
   * sandbox's), as a restarted coordinator pod; resolves once its caches are filled. Agents keep running. Rejects
   * (`Invalid`) with `runCoordinator: false`: the coordinator is another process's to restart.
   */
  restartCoordinator(gates?: Pick<FeatureGates, 'enabled'>): Promise<void>;
  /** Agents first, then the coordinator; resolves when everything returned. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Routes events of one informer over all NodeImages to the one agent whose node the object is named after: O(1)
 * per event whatever the node count (the informer's cache is keyed by name already).
 */
class NodeImagesByName {
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly informer: SharedInformer<NodeImage>) {
    const fire = (ni: NodeImage): void => {
      for (const l of this.listeners.get(ni.metadata.name ?? '') ?? []) l();
    };
    informer.addHandler({ onAdd: fire, onUpdate: (_old, ni) => fire(ni), onDelete: fire });
  }

  sourceFor(nodeName: string): NodeImageSource {
    return {
      get: () => this.informer.cache.getByName('', nodeName),
      subscribe: (onChange) => {
        let set = this.listeners.get(nodeName);
        if (set === undefined) this.listeners.set(nodeName, set = new Set());
        set.add(onChange);
        // As an informer replays its cache to a handler added after sync: a restarted agent must reconcile the
        // NodeImage it finds (and resume what the last one left Pulling) without waiting for the next change.
        if (this.informer.hasSynced() && this.informer.cache.getByName('', nodeName) !== undefined) {
          queueMicrotask(() => { if (set.has(onChange)) onChange(); });
        }
        return () => {
          set.delete(onChange);
          if (set.size === 0 && this.listeners.get(nodeName) === set) this.listeners.delete(nodeName);
        };
      },
    };
  }
}

const NODE_NAME_INDEX = 'spec.nodeName';

/** Routes events of one informer over all Pods to the agent of the Pod's node (index by `spec.nodeName`). */
class PodsByNode {
  private readonly listeners = new Map<string, Set<(pod: Pod) => void>>();

  constructor(private readonly informer: SharedInformer<Pod & KubeObject>) {
    informer.addIndexer(NODE_NAME_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    const fire = (p: Pod): void => {
      for (const l of this.listeners.get(p.spec?.nodeName ?? '') ?? []) l(p);
    };
    informer.addHandler({ onAdd: fire, onUpdate: (_old, p) => fire(p), onDelete: fire });
  }

  sourceFor(nodeName: string): NodePodSource {
    return {
      get: (namespace, name) => {
        const p = this.informer.cache.getByName(namespace, name);
        return p?.spec?.nodeName === nodeName ? p : undefined;
      },
      subscribe: (onChange) => {
        let set = this.listeners.get(nodeName);
        if (set === undefined) this.listeners.set(nodeName, set = new Set());
        set.add(onChange);
        // A restarted agent resumes the swaps its Pods record, as an informer replays its cache to a late handler.
        if (this.informer.hasSynced()) {
          const pods = this.informer.cache.byIndex(NODE_NAME_INDEX, nodeName);
          queueMicrotask(() => { if (set.has(onChange)) for (const p of pods) onChange(p); });
        }
        return () => {
          set.delete(onChange);
          if (set.size === 0 && this.listeners.get(nodeName) === set) this.listeners.delete(nodeName);
        };
      },
    };
  }
}

interface AgentSlot {
  readonly node: AgentNode;
  controller: ImagePullerController;
  swap: HotUpgradeController;
  recorder: EventRecorder;
  abort: AbortController;
  done: Promise<void> | undefined;
}

export async function startSandboxImagePull(o: SandboxImagePullOptions): Promise<SandboxImagePull> {
  const log = o.logger.child({ component: 'sandbox-imagepull' });
  const enabled = o.gates.enabled('KruiseDaemon');
  const limit = pLimit(o.parallelism ?? 16);
  const maxConcurrentPulls = o.maxConcurrentPulls ?? 2;
  if (!Number.isInteger(maxConcurrentPulls) || maxConcurrentPulls < 1) {
    throw new KruiseError(`maxConcurrentPulls must be a positive whole number, got ${maxConcurrentPulls}`, { reason: 'Invalid', fieldPath: 'maxConcurrentPulls' });
  }
  const stopAll = new AbortController();
  // Every agent's controller and signal listens on it: a thousand listeners are expected, not a leak.
  setMaxListeners(0, stopAll.signal);

  // The coordinator: as `kruise-ts coordinator --no-leader-elect` runs it, minus the health server. Its client
  // budget grows with the node count (it writes one NodeImage per node); a cluster's coordinator has 30 qps.
  const nodeCount = o.nodes.length;
  const coordinatorClient = makeClient({
    kubeConfig: o.kubeConfig, role: 'coordinator', version: VERSION,
    qps: Math.max(500, 5 * nodeCount), burst: Math.max(1000, 10 * nodeCount),
  });
  // The SidecarSet controller has no gate (spec §0.1), so the coordinator runs even with KruiseDaemon off.
  // A new Manager (and metrics registry) per start: `restartCoordinator` replaces it as a new coordinator pod would.
  const newCoordinator = (gates: Pick<FeatureGates, 'enabled'>): Manager => {
    const registry = new Registry();
    return new Manager({
      client: coordinatorClient, metrics: new KubeMetrics(registry), registry,
      logger: o.logger.child({ role: 'coordinator' }), component: 'kruise-ts-coordinator', leaderElection: false,
      controllers: (ctx) => [
        ...registerImagePullControllers(ctx, gates, o.coordinator), ...registerSidecarSetController(ctx, o.sidecarSet),
        ...registerCloneSetControllers(ctx, gates, { writeConcurrency: 64, ...o.cloneSet }),
      ],
    });
  };
  let coordinatorAbort = new AbortController();
  const runCoordinator = (m: Manager): Promise<void> => m.start(AbortSignal.any([stopAll.signal, coordinatorAbort.signal]))
    .catch((e: unknown) => { log.error({ err: e }, 'coordinator stopped unexpectedly'); });
  const inProcess = o.runCoordinator ?? true;
  let coordinator = inProcess ? newCoordinator(o.gates) : undefined;
  let coordinatorDone = coordinator ? runCoordinator(coordinator) : Promise.resolve();
  const restartCoordinator = async (gates: Pick<FeatureGates, 'enabled'> = o.gates): Promise<void> => {
    if (!inProcess) throw new KruiseError('the sandbox runs without its coordinator (runCoordinator: false)', { reason: 'Invalid', fieldPath: 'runCoordinator' });
    if (stopAll.signal.aborted) throw new KruiseError('the sandbox coordinator is stopping', { reason: 'Unavailable' });
    coordinatorAbort.abort(new KruiseError('the sandbox coordinator is restarting', { reason: 'Aborted' }));
    await coordinatorDone;
    coordinatorAbort = new AbortController();
    coordinator = newCoordinator(gates);
    coordinatorDone = runCoordinator(coordinator);
    await coordinator.informers.waitForSync(stopAll.signal);
  };

  // The agents: one client and one informer factory for all (an agent's own budget is 5 qps; the status writers
  // pace each node's writes as on a cluster).
  const agentClient: KubeClient = makeClient({
    kubeConfig: o.kubeConfig, role: 'agent', version: VERSION,
    qps: Math.max(200, 5 * nodeCount), burst: Math.max(400, 10 * nodeCount),
  });
  const informers = new InformerFactory({ client: agentClient, logger: o.logger });
  const byName = new NodeImagesByName(informers.informerFor<NodeImage>(resources.nodeImages));
  const podsByNode = enabled ? new PodsByNode(informers.informerFor<Pod & KubeObject>(resources.pods)) : undefined;
  const agentRegistry = new Registry();
  const swapMetrics = new PromSwapMetrics(agentRegistry);
  const informersDone = enabled ? informers.start(stopAll.signal) : Promise.resolve();
  const agents = new Map<string, AgentSlot>();

  const newController = (node: AgentNode, recorder: EventRecorder): ImagePullerController => new ImagePullerController({
    nodeName: node.name,
    client: agentClient,
    nodeImages: byName.sourceFor(node.name),
    recorder,
    // The node's own client: never closed by the agent (the node's teardown owns it).
    cri: fixedCriSource(node.cri),
    logger: o.logger.child({ role: 'agent', identity: node.name }),
    maxConcurrentPulls,
    ...o.agent,
  });
  const newSwap = (node: AgentNode, recorder: EventRecorder): HotUpgradeController => new HotUpgradeController({
    nodeName: node.name,
    client: agentClient,
    pods: podsByNode!.sourceFor(node.name),
    recorder,
    cri: fixedCriSource(node.cri),
    logger: o.logger.child({ role: 'agent', identity: node.name }),
    metrics: swapMetrics,
    ...o.hotUpgrade,
  });
  const newRecorder = (nodeName: string): EventRecorder => new EventRecorder({
    client: agentClient, component: 'kruise-ts-agent', host: nodeName, logger: o.logger,
  });

  const run = (slot: AgentSlot): void => {
    const signal = AbortSignal.any([stopAll.signal, slot.abort.signal]);
    slot.done = Promise.all([slot.controller.start(signal), slot.swap.start(signal)]).then(() => undefined, (e: unknown) => {
      log.error({ err: e, node: slot.node.name }, 'agent stopped unexpectedly');
    });
  };
  // Agents start once the shared cache is filled, as the Manager starts controllers after sync: a first reconcile
  // on an empty cache would read "no NodeImage" and drop what a previous agent left to resume.
  const synced = (signal?: AbortSignal): Promise<void> => informers.waitForSync(signal);

  const addAgent = async (node: AgentNode): Promise<void> => {
    if (!enabled) return;
    if (stopAll.signal.aborted) throw new KruiseError('the sandbox image pull agents are stopping', { reason: 'Unavailable' });
    if (agents.has(node.name)) throw new KruiseError(`node ${node.name} has an agent already`, { reason: 'AlreadyExists' });
    const recorder = newRecorder(node.name);
    const slot: AgentSlot = {
      node, recorder, controller: newController(node, recorder), swap: newSwap(node, recorder), abort: new AbortController(), done: undefined,
    };
    agents.set(node.name, slot);
    await synced(stopAll.signal);
    run(slot);
  };

  const stopAgent = async (nodeName: string): Promise<void> => {
    const slot = agents.get(nodeName);
    if (slot === undefined) throw new KruiseError(`node ${nodeName} has no agent`, { reason: 'NotFound' });
    slot.abort.abort(new KruiseError(`the agent of ${nodeName} is stopping`, { reason: 'Aborted' }));
    await slot.done;
    await slot.recorder.close();
    slot.done = undefined;
  };

  const startAgent = async (nodeName: string): Promise<void> => {
    const slot = agents.get(nodeName);
    if (slot === undefined) throw new KruiseError(`node ${nodeName} has no agent`, { reason: 'NotFound' });
    if (slot.done !== undefined) throw new KruiseError(`the agent of ${nodeName} is running`, { reason: 'AlreadyExists' });
    if (stopAll.signal.aborted) throw new KruiseError('the sandbox image pull agents are stopping', { reason: 'Unavailable' });
    slot.recorder = newRecorder(nodeName);
    slot.controller = newController(slot.node, slot.recorder);
    slot.swap = newSwap(slot.node, slot.recorder);
    slot.abort = new AbortController();
    run(slot);
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      log.info({ agents: agents.size }, 'stopping image pull agents and coordinator');
      // Agents first, while the API server and the runtimes still answer: their pulls are cancelled (recording
      // nothing) and their pending statuses written. The shared informer stops with them.
      for (const slot of agents.values()) slot.abort.abort(new KruiseError('the sandbox is stopping', { reason: 'Aborted' }));
      await Promise.all([...agents.values()].map((slot) => limit(async () => {
        await slot.done;
        await slot.recorder.close();
      })));
      stopAll.abort(new KruiseError('the sandbox is stopping', { reason: 'Aborted' }));
      await informersDone.catch((e: unknown) => log.error({ err: e }, 'agent informers failed'));
      await coordinatorDone;
      agentClient.close();
      coordinatorClient.close();
      log.info('image pull agents and coordinator stopped');
    })();
    return stopped;
  };

  try {
    if (enabled) {
      for (const node of o.nodes) {
        const recorder = newRecorder(node.name);
        agents.set(node.name, {
          node, recorder, controller: newController(node, recorder), swap: newSwap(node, recorder), abort: new AbortController(), done: undefined,
        });
      }
      await synced(stopAll.signal);
      for (const slot of agents.values()) run(slot);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log.info({ enabled, agents: agents.size, maxConcurrentPulls, coordinator: inProcess ? 'in-process' : 'external' }, 'image pull coordinator and agents running');

  return {
    get coordinator() { return coordinator; },
    restartCoordinator,
    enabled,
    agentRegistry,
    async ready(signal?: AbortSignal): Promise<void> {
      await Promise.all([enabled ? synced(signal) : undefined, coordinator?.informers.waitForSync(signal)]);
    },
    agent(nodeName: string): SandboxAgent | undefined {
      const slot = agents.get(nodeName);
      if (slot === undefined) return undefined;
      return { nodeName, controller: slot.controller, swap: slot.swap, running: slot.done !== undefined };
    },
    addAgent,
    stopAgent,
    startAgent,
    stop,
  };
}

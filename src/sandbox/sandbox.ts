/**
 * `kruise-ts sandbox`: one process with an embedded Kubernetes API server, the coordinator's admission webhooks,
 * emulated nodes and, with nodes, the ImagePullJob pipeline (coordinator controllers and one agent per node;
 * imagepull-wiring.ts; the controllers can be left to a coordinator in another process, `coordinator: false`). It
 * makes its own CA, applies our CRDs, and writes a kubeconfig.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import type { FeatureGates } from '../api/feature-gates.js';
import type { KubeObject } from '../api/meta.js';
import { ApiServer } from './apiserver/api-server.js';
import { createSandboxPki } from './apiserver/pki.js';
import { writeKubeconfig } from './kubeconfig.js';
import { LeanKubeConfig } from '../kube/kubeconfig-loader.js';
import { LocalSocketAccess } from '../kube/local-socket-access.js';
import { Registry } from 'prom-client';
import { startAdmissionServer, type AdmissionServer } from '../coordinator/admission/index.js';
import { makeClient } from '../kube/client-config.js';
import type { KubeClient } from '../kube/kube-client.js';
import { VERSION } from '../api/version.js';
import { KruiseError } from '../api/errors.js';
import { startSandboxNodes, type SandboxNodes } from './node/sandbox-nodes.js';
import type { CreateNodePods } from './node/node-pods-contract.js';
import { createNodePods } from './node/pods/index.js';
import type { EmulatedNode } from './node/emulated-node.js';
import { startSandboxImagePull, type SandboxImagePull, type SandboxImagePullOptions } from './imagepull-wiring.js';

export interface SandboxOptions {
  /** API server port on 127.0.0.1; 0 = any free port. @default 6443 */
  port: number;
  /** Where the kubeconfig is written (absolute). */
  kubeconfigPath: string;
  featureGates: FeatureGates;
  logger: Logger;
  /** Folder of CRD manifests to apply at start. @default the repository's deploy/crds */
  crdDir?: string;
  now?: () => Date;
  /** Emulated nodes and the sandbox scheduler (issue 5); absent or `count: 0`: an API server only. */
  nodes?: SandboxNodesSettings;
  /**
   * Run the coordinator's controllers (CloneSet, SidecarSet, ImagePullJob, NodeImage) in the sandbox, with nodes.
   * false (`--no-coordinator`): nothing here reconciles our CRs until a coordinator in another process does
   * (`kruise-ts coordinator --kubeconfig <kubeconfigPath> --no-leader-elect`). The admission webhooks stay: they
   * are the API's, and a CloneSet must be defaulted and validated whether or not a coordinator runs yet. An
   * external coordinator serving its own webhooks (`--webhook-port`) replaces their configurations with its URL.
   * It behaves as the in-process one only with the sandbox's feature gates (`--feature-gates`; the sandbox turns
   * alpha gates on that a coordinator's v0.9 defaults leave off).
   * @default true
   */
  coordinator?: boolean;
  /**
   * The sandbox's own clients (coordinator, nodes, agents, webhooks) reach the API server over a Unix socket with
   * plain HTTP instead of HTTPS on loopback: the same API, without TLS and TCP inside one process. kubectl and other
   * clients use the HTTPS port either way. @default true
   */
  localTransport?: boolean;
}

export interface SandboxNodesSettings {
  /** `--nodes`. @default 0 here; the CLI's default is 3 */
  count: number;
  /** `--cri-endpoint`: every node on this real CRI runtime instead of the built-in one. */
  criEndpoint?: string;
  /** `--image-pull-seconds`: the built-in runtime's pull time. @default 2 */
  imagePullSeconds?: number;
  /** `--node-labels`. */
  labels?: Readonly<Record<string, string>>;
  /** Above this many nodes the built-in runtimes are reached in-process. @default 50 */
  inProcessAbove?: number;
  /** The pod lifecycle; @default the one in ./node/pods */
  createNodePods?: CreateNodePods;
  /** Each node's agent: PullImage calls at once (`kruise-ts agent --max-concurrent-pulls`). @default 2 */
  maxConcurrentPulls?: number;
  /** ImagePullJob coordinator and agent tuning (tests shorten timeouts and backoff). */
  imagePull?: Pick<SandboxImagePullOptions, 'coordinator' | 'agent' | 'hotUpgrade'>;
}

export interface Sandbox {
  readonly apiServer: ApiServer;
  /** The coordinator's admission webhooks (deletion protection, CR defaulting and validation). */
  readonly admission: AdmissionServer;
  /** A client of the sandbox's API server, as the sandbox's own components use it. */
  readonly client: KubeClient;
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly caCertPem: string;
  readonly token: string;
  /** The emulated nodes, when asked for; every one has reported Ready when startSandbox resolves. */
  readonly nodes: SandboxNodes | undefined;
  /**
   * With nodes: the coordinator's controllers (unless `coordinator: false`) and one image-puller agent per node
   * (with `KruiseDaemon` on); their caches are filled when startSandbox resolves.
   */
  readonly imagePull: SandboxImagePull | undefined;
  /** Adds an emulated node (with its agent) at runtime; the sandbox must have been started with nodes. */
  addNode(): Promise<EmulatedNode>;
  /**
   * Stops the agents and the coordinator's controllers first (pulls cancelled, pending statuses written), then the
   * nodes (tearing down what they run on a real runtime), then admission, then the API server.
   */
  close(): Promise<void>;
}


export const DEFAULT_CRD_DIR = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

/** Every object in every .yaml/.yml/.json file of a folder, in file-name order. */
export async function readManifests(dir: string): Promise<KubeObject[]> {
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const out: KubeObject[] = [];
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${join(dir, f)}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  const log = o.logger.child({ component: 'sandbox' });
  const now = o.now ?? (() => new Date());
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: now() });
  const token = randomBytes(32).toString('hex');
  // Short and private: a socket path must fit in 108 bytes, and only this user may connect.
  const socketDir = o.localTransport ?? true ? await mkdtemp(join(tmpdir(), 'kts-api-')) : undefined;
  const apiServer = await ApiServer.start({
    port: o.port,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    tokens: new Map([[token, { username: 'kruise-ts-admin', groups: ['system:masters', 'system:authenticated'] }]]),
    logger: o.logger,
    clock: { now },
    ...(socketDir !== undefined ? { localSocketPath: join(socketDir, 'api.sock') } : {}),
  }).catch(async (e: unknown) => {
    if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
    throw e;
  });
  let admission: AdmissionServer | undefined;
  let client: KubeClient | undefined;
  let nodesClient: KubeClient | undefined;
  let nodes: SandboxNodes | undefined;
  let imagePull: SandboxImagePull | undefined;
  try {
    for (const crd of await readManifests(o.crdDir ?? DEFAULT_CRD_DIR)) {
      await apiServer.applyObject(crd);
      log.debug({ crd: crd.metadata.name }, 'applied CRD');
    }
    await apiServer.idle();
    const kubeconfig = { server: apiServer.url, caCertPem: pki.caCertPem, token };
    // The same access the written kubeconfig gives, without parsing it back or loading client-node.
    const localSocket = apiServer.localSocketPath;
    const kc = localSocket !== undefined ? new LocalSocketAccess(localSocket, token) : new LeanKubeConfig('kruise-ts-sandbox', {
      server: kubeconfig.server, caData: Buffer.from(kubeconfig.caCertPem).toString('base64'), insecureSkipTlsVerify: false,
    }, { token }, 'default');
    client = makeClient({ kubeConfig: kc, role: 'sandbox', version: VERSION });
    // The coordinator's webhooks, registered with url clientConfigs, so deletion protection and CR validation
    // behave as on a cluster.
    admission = await startAdmissionServer({
      port: 0, host: '127.0.0.1', gates: o.featureGates, client, registry: new Registry(),
      logger: o.logger.child({ component: 'admission' }), now,
    });
    if (o.nodes && o.nodes.count > 0) {
      // Their own client: kubelets and the scheduler get a budget that grows with the node count (an agent's is
      // 5 qps), so a thousand nodes are not throttled by the sandbox's own 1000 qps.
      nodesClient = makeClient({ kubeConfig: kc, role: 'sandbox', version: VERSION, qps: Math.max(1000, 10 * o.nodes.count), burst: Math.max(2000, 20 * o.nodes.count) });
      nodes = await startSandboxNodes({
        count: o.nodes.count, client: nodesClient, logger: o.logger,
        createNodePods: o.nodes.createNodePods ?? createNodePods,
        ...(o.nodes.criEndpoint !== undefined ? { criEndpoint: o.nodes.criEndpoint } : {}),
        ...(o.nodes.imagePullSeconds !== undefined ? { imagePullSeconds: o.nodes.imagePullSeconds } : {}),
        ...(o.nodes.labels ? { nodeLabels: o.nodes.labels } : {}),
        ...(o.nodes.inProcessAbove !== undefined ? { inProcessAbove: o.nodes.inProcessAbove } : {}),
      });
      await nodes.ready();
      // The ImagePullJob pipeline needs nodes to pull on; with none the sandbox stays an API server alone.
      imagePull = await startSandboxImagePull({
        kubeConfig: kc, gates: o.featureGates, nodes: nodes.nodes, logger: o.logger, runCoordinator: o.coordinator ?? true,
        ...(o.nodes.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: o.nodes.maxConcurrentPulls } : {}),
        ...o.nodes.imagePull,
      });
      await imagePull.ready();
    }
    await writeKubeconfig(o.kubeconfigPath, kubeconfig);
  } catch (e) {
    await imagePull?.stop();
    await nodes?.stop();
    nodesClient?.close();
    await admission?.close();
    client?.close();
    await apiServer.close();
    if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
    throw e;
  }
  log.info({
    url: apiServer.url, webhookPort: admission.port, featureGates: o.featureGates.toString(),
    coordinator: o.coordinator === false ? 'external' : 'in-process',
  }, 'sandbox API server serving');
  const adm = admission;
  const kube = client;
  const nodeClient = nodesClient;
  const pulls = imagePull;
  return {
    apiServer,
    admission: adm,
    client: kube,
    url: apiServer.url,
    kubeconfigPath: o.kubeconfigPath,
    caCertPem: pki.caCertPem,
    token,
    nodes,
    imagePull: pulls,
    addNode: async () => {
      if (nodes === undefined) throw new KruiseError('the sandbox runs without nodes (nodes count 0)', { reason: 'Invalid', fieldPath: 'nodes.count' });
      const node = await nodes.addNode();
      await pulls?.addAgent(node);
      return node;
    },
    close: async () => {
      // Agents before the nodes: they use the nodes' runtimes, which the nodes' stop closes.
      await pulls?.stop();
      await nodes?.stop();
      nodeClient?.close();
      await adm.close(2000);
      kube.close();
      await apiServer.close();
      if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
    },
  };
}

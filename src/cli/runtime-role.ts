/**
 * `kruise-ts coordinator` and `kruise-ts agent`: the controller runtime (client, informers, health and metrics,
 * and for the coordinator leader election) with the role's controllers. What both roles share lives here; each
 * role's own code is in agent-role.ts and coordinator-role.ts, imported only when that role runs, so the agent
 * never loads the coordinator's webhook and ImagePullJob code (about 18 MiB of RSS, docs/benchmarks.md).
 */
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { SYSTEM_NAMESPACE } from '../api/well-known-keys.js';
import { loadKubeConfig, makeClient } from '../kube/client-config.js';
import type { KubeClient } from '../kube/kube-client.js';
import { KubeMetrics } from '../kube/metrics.js';
import { Manager, type ManagerOptions } from '../kube/manager.js';
import { VERSION } from '../api/version.js';

export interface RoleFlags {
  kubeconfig?: string;
  context?: string;
  kubeApiQps?: number;
  kubeApiBurst?: number;
  healthPort: number;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  nodeName?: string;
  /** Coordinator: admission webhooks. 0 = any port; undefined = no webhook server. */
  webhookPort?: number;
  webhookHost?: string;
  certDir?: string;
  /** `namespace/name` of the Service the API server calls the webhooks through (cluster mode). */
  webhookService?: string;
  /** `https://host:port` written into the webhook configurations' clientConfig.url (no Service). */
  webhookUrlBase?: string;
  featureGates?: string;
  /** Agent: PullImage calls at once on the node. @default 2 */
  maxConcurrentPulls?: number;
  /** Agent: how long a hot-upgraded sidecar may take to run and start before the swap fails. */
  hotUpgradeTimeoutSeconds?: number;
  /** Agent: the CRI socket; discovered under `hostRoot` when absent. */
  criEndpoint?: string;
  /** Agent: where the host's filesystem is mounted, for CRI discovery. @default '/' */
  hostRoot?: string;
}

export interface RoleEnv {
  inClusterHost: string | undefined;
  /** KUBERNETES_SERVICE_PORT. */
  inClusterPort?: string | undefined;
  /** KUBECONFIG. */
  kubeconfig?: string | undefined;
  /** HOME, for ~/.kube/config. */
  home?: string | undefined;
  podName: string | undefined;
  nodeName: string | undefined;
}

export interface BuiltRole {
  manager: Manager;
  identity: string;
  /** Runs the role until `signal` aborts (rejects when leadership is lost). */
  run(signal: AbortSignal): Promise<void>;
}

/** What every role runs on: one client to the API server, its metrics and the registry /metrics serves. */
export interface RoleRuntime {
  client: KubeClient;
  metrics: KubeMetrics;
  registry: Registry;
}

export async function buildRuntime(role: 'coordinator' | 'agent', flags: RoleFlags, env: RoleEnv): Promise<RoleRuntime> {
  const kubeConfig = await loadKubeConfig({
    ...(flags.kubeconfig ? { kubeconfigPath: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...(env.inClusterHost ? { inClusterHost: env.inClusterHost } : {}),
    ...(env.inClusterPort ? { inClusterPort: env.inClusterPort } : {}),
    ...(env.kubeconfig ? { kubeconfigEnv: env.kubeconfig } : {}),
    ...(env.home ? { homeDir: env.home } : {}),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new KubeMetrics(registry);
  const client = makeClient({
    kubeConfig, role, version: VERSION, observer: metrics,
    ...(flags.kubeApiQps !== undefined ? { qps: flags.kubeApiQps } : {}),
    ...(flags.kubeApiBurst !== undefined ? { burst: flags.kubeApiBurst } : {}),
  });
  return { client, metrics, registry };
}

export function makeManager(
  role: 'coordinator' | 'agent', rt: RoleRuntime, flags: RoleFlags, identity: string, log: Logger,
  controllers: ManagerOptions['controllers'],
): Manager {
  return new Manager({
    client: rt.client, metrics: rt.metrics, registry: rt.registry, logger: log.child({ role, identity }),
    component: `kruise-ts-${role}`,
    healthPort: flags.healthPort,
    // Agents run one per node and never compete; the coordinator runs leader-elected.
    leaderElection: role === 'coordinator' && flags.leaderElect !== false,
    lease: {
      namespace: flags.leaderElectionNamespace ?? SYSTEM_NAMESPACE,
      name: flags.leaderElectionId ?? 'kruise-ts-coordinator',
      identity,
    },
    controllers,
  });
}

/** Builds a role, importing only that role's code. */
export async function buildRole(role: 'coordinator' | 'agent', flags: RoleFlags, env: RoleEnv, log: Logger): Promise<BuiltRole> {
  if (role === 'agent') return (await import('./agent-role.js')).buildAgentRole(flags, env, log);
  return (await import('./coordinator-role.js')).buildCoordinatorRole(flags, env, log);
}

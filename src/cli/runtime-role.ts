/**
 * `kruise-ts coordinator` and `kruise-ts agent`: the controller runtime (client, informers, health and metrics,
 * and for the coordinator leader election) with the role's controllers. The controllers themselves land with
 * their issues; until then both roles run the runtime with none, which is enough to deploy and probe them.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KruiseError } from '../api/errors.js';
import { SYSTEM_NAMESPACE } from '../api/well-known-keys.js';
import { loadKubeConfig, makeClient } from '../kube/client-config.js';
import { KubeMetrics } from '../kube/metrics.js';
import { Manager } from '../kube/manager.js';
import { parseFeatureGates } from '../api/feature-gates.js';
import { startAdmissionServer } from '../coordinator/admission/index.js';
import { registerImagePullControllers } from '../coordinator/imagepulljob/index.js';
import { VERSION } from '../api/version.js';
import { buildAgent } from '../agent/index.js';

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
  /** Agent: the CRI socket; discovered under `hostRoot` when absent. */
  criEndpoint?: string;
  /** Agent: where the host's filesystem is mounted, for CRI discovery. @default '/' */
  hostRoot?: string;
}

export interface RoleEnv {
  inClusterHost: string | undefined;
  podName: string | undefined;
  nodeName: string | undefined;
}

export interface BuiltRole {
  manager: Manager;
  identity: string;
  /** Runs the role until `signal` aborts (rejects when leadership is lost). */
  run(signal: AbortSignal): Promise<void>;
}

export function buildRole(role: 'coordinator' | 'agent', flags: RoleFlags, env: RoleEnv, log: Logger): BuiltRole {
  if (role === 'agent' && !(flags.nodeName || env.nodeName)) {
    throw new KruiseError('the agent needs its node: pass --node-name or set NODE_NAME (the DaemonSet sets it from spec.nodeName)', { reason: 'Invalid', fieldPath: '--node-name' });
  }
  const kubeConfig = loadKubeConfig({
    ...(flags.kubeconfig ? { kubeconfigPath: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...(env.inClusterHost ? { inClusterHost: env.inClusterHost } : {}),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new KubeMetrics(registry);
  const client = makeClient({
    kubeConfig, role, version: VERSION, observer: metrics,
    ...(flags.kubeApiQps !== undefined ? { qps: flags.kubeApiQps } : {}),
    ...(flags.kubeApiBurst !== undefined ? { burst: flags.kubeApiBurst } : {}),
  });
  const gates = parseFeatureGates(flags.featureGates ?? '');
  const identity = role === 'agent'
    ? `${flags.nodeName ?? env.nodeName}`
    : `${env.podName ?? hostname()}_${randomBytes(4).toString('hex')}`;
  // The agent's CRI runtime is discovered when it runs, never at build time: a late runtime must not crash-loop it.
  const agent = role === 'agent'
    ? buildAgent({
      nodeName: identity, logger: log.child({ role, identity }),
      ...(flags.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: flags.maxConcurrentPulls } : {}),
      ...(flags.criEndpoint ? { criEndpoint: flags.criEndpoint } : {}),
      ...(flags.hostRoot ? { hostRoot: flags.hostRoot } : {}),
    })
    : undefined;
  const manager = new Manager({
    client, metrics, registry, logger: log.child({ role, identity }),
    component: `kruise-ts-${role}`,
    healthPort: flags.healthPort,
    // Agents run one per node and never compete; the coordinator runs leader-elected.
    leaderElection: role === 'coordinator' && flags.leaderElect !== false,
    lease: {
      namespace: flags.leaderElectionNamespace ?? SYSTEM_NAMESPACE,
      name: flags.leaderElectionId ?? 'kruise-ts-coordinator',
      identity,
    },
    // The ImagePullJob and NodeImage controllers run only with KruiseDaemon on (spec §0.1).
    controllers: (ctx) => (role === 'coordinator' ? registerImagePullControllers(ctx, gates) : agent?.controllers(ctx) ?? []),
  });
  if (agent) manager.healthServer()?.addReadinessCheck('cri-runtime', agent.criReadiness);
  let service: { namespace: string; name: string } | undefined;
  if (flags.webhookService) {
    const m = /^([^/]+)\/([^/]+)$/.exec(flags.webhookService);
    if (!m) throw new KruiseError(`--webhook-service ${flags.webhookService}: expected NAMESPACE/NAME`, { reason: 'Invalid', fieldPath: '--webhook-service' });
    service = { namespace: m[1]!, name: m[2]! };
  }
  const run = async (signal: AbortSignal): Promise<void> => {
    // Every replica serves webhooks (the API server may call any of them); only the leader reconciles.
    const admission = role === 'coordinator' && flags.webhookPort !== undefined
      ? await startAdmissionServer({
        port: flags.webhookPort, host: flags.webhookHost ?? '0.0.0.0', gates, client, registry, logger: log.child({ component: 'admission' }),
        ...(flags.certDir ? { certDir: flags.certDir } : {}),
        ...(service ? { serviceRef: service } : {}),
        ...(flags.webhookUrlBase ? { urlBase: flags.webhookUrlBase } : {}),
      })
      : undefined;
    if (admission) log.info({ port: admission.port }, 'admission webhooks serving');
    try {
      await manager.start(signal);
    } finally {
      await admission?.close(5000);
      client.close();
    }
  };
  return { manager, identity, run };
}

/**
 * Where cluster access comes from: an explicit kubeconfig file, the in-cluster service account, or the default
 * kubeconfig search (KUBECONFIG, ~/.kube/config). Environment values are passed in: only cli/ reads process.env.
 * Loading goes through our lean loader (kubeconfig-loader.ts), not client-node, which costs ~70 MiB to import.
 */
import { KruiseError } from '../api/errors.js';
import { KubeClient, type RequestObserver } from './kube-client.js';
import { loadClusterAccess, type ClusterAccess } from './kubeconfig-loader.js';

export type Role = 'coordinator' | 'agent' | 'sandbox' | 'cli';

/** Client-side rate limits per role (issue 3): the coordinator talks a lot, agents run on every node. */
export const CLIENT_RATE_DEFAULTS: Readonly<Record<Role, { qps: number; burst: number }>> = Object.freeze({
  coordinator: { qps: 30, burst: 50 },
  agent: { qps: 5, burst: 10 },
  sandbox: { qps: 1000, burst: 2000 },
  cli: { qps: 30, burst: 50 },
});

export interface KubeConfigSource {
  /** `--kubeconfig`: wins over everything else. */
  kubeconfigPath?: string;
  /** `--context` within the kubeconfig. */
  context?: string;
  /** KUBERNETES_SERVICE_HOST, present inside a pod. */
  inClusterHost?: string;
  /** KUBERNETES_SERVICE_PORT. @default '443' */
  inClusterPort?: string;
  /** KUBECONFIG: one or more files, merged as kubectl does. */
  kubeconfigEnv?: string;
  /** The home directory, for ~/.kube/config. */
  homeDir?: string;
}

export async function loadKubeConfig(src: KubeConfigSource): Promise<ClusterAccess> {
  try {
    return await loadClusterAccess({
      ...(src.kubeconfigPath ? { kubeconfigPath: src.kubeconfigPath } : {}),
      ...(src.context ? { context: src.context } : {}),
      ...(src.kubeconfigEnv ? { kubeconfigEnv: src.kubeconfigEnv } : {}),
      ...(src.homeDir ? { homeDir: src.homeDir } : {}),
      ...(src.inClusterHost ? { inCluster: { host: src.inClusterHost, ...(src.inClusterPort ? { port: src.inClusterPort } : {}) } } : {}),
    });
  } catch (e) {
    if (KruiseError.is(e)) throw e;
    throw new KruiseError(`cannot load the kubeconfig${src.kubeconfigPath ? ` ${src.kubeconfigPath}` : ''}: ${(e as Error).message}`, { reason: 'BadRequest', cause: e });
  }
}

export function userAgent(version: string, role: Role): string {
  return `kruise-ts/${version} (${role})`;
}

export interface ClientOptions {
  kubeConfig: ClusterAccess;
  role: Role;
  version: string;
  qps?: number;
  burst?: number;
  observer?: RequestObserver;
}

export function makeClient(o: ClientOptions): KubeClient {
  const rate = CLIENT_RATE_DEFAULTS[o.role];
  return new KubeClient({
    kubeConfig: o.kubeConfig,
    qps: o.qps ?? rate.qps,
    burst: o.burst ?? rate.burst,
    userAgent: userAgent(o.version, o.role),
    ...(o.observer ? { observer: o.observer } : {}),
  });
}

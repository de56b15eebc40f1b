/**
 * Where a KubeConfig comes from: an explicit kubeconfig file, the in-cluster service account, or the default
 * kubeconfig search (KUBECONFIG, ~/.kube/config). Environment values are passed in: only cli/ reads process.env.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KruiseError } from '../api/errors.js';
import { KubeClient, type RequestObserver } from './kube-client.js';

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
}

export function loadKubeConfig(src: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (src.kubeconfigPath) kc.loadFromFile(src.kubeconfigPath);
    else if (src.inClusterHost) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new KruiseError(`cannot load the kubeconfig${src.kubeconfigPath ? ` ${src.kubeconfigPath}` : ''}: ${(e as Error).message}`, { reason: 'BadRequest', cause: e });
  }
  if (src.context) {
    if (!kc.getContextObject(src.context)) throw new KruiseError(`context ${JSON.stringify(src.context)} not found in the kubeconfig`, { reason: 'NotFound' });
    kc.setCurrentContext(src.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KruiseError('the kubeconfig has no current cluster: pass --kubeconfig, or run inside a pod', { reason: 'BadRequest' });
  }
  return kc;
}

export function userAgent(version: string, role: Role): string {
  return `kruise-ts/${version} (${role})`;
}

export interface ClientOptions {
  kubeConfig: KubeConfig;
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

/** The controller runtime: what the coordinator and the agent build on. */
export { KubeClient, type KubeClientOptions, type ListOptions, type ObjectList, type PatchType, type RequestObserver, type WatchEvent, type WatchOptions } from './kube-client.js';
export { KubeApiError, isAlreadyExists, isConflict, isGone, isNotFound, type ApiStatus } from './kube-api-error.js';
export { CLIENT_RATE_DEFAULTS, loadKubeConfig, makeClient, userAgent, type KubeConfigSource, type Role } from './client-config.js';
export { loadClusterAccess, type ClusterAccess, type KubeconfigLoadOptions } from './kubeconfig-loader.js';
export { LocalSocketAccess } from './local-socket-access.js';
export { apiVersionOf, collectionPath, objectPath, resources, type ResourceRef } from './resource-ref.js';
export { TokenBucket } from './token-bucket.js';
export * from './informer/index.js';
export * from './workqueue/index.js';
export * from './controller/index.js';
export * from './events/index.js';
export { ControllerExpectations, compareResourceVersions, type ExpectationKind } from './expectations.js';
export { LeaderElector, type LeaderElectorOptions } from './leader-election.js';
export { DEFAULT_RETRY, jsonPatch, mergePatch, retryOnConflict, updateStatusWithRetry, updateWithRetry, type RetryOptions } from './writes.js';
export { HealthServer, type HealthServerOptions, type ReadinessCheck } from './health-server.js';
export { KubeMetrics } from './metrics.js';
export { Manager, type ManagerContext, type ManagerOptions, type ManagerState } from './manager.js';

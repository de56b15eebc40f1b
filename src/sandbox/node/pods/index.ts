// Public surface of an emulated node's pod lifecycle: `createNodePods` (the contract's factory), its options, and the
// pure planner for tests and tools.
export {
  compilePodLifecycleOptions, createNodePods, type CompiledPodLifecycleOptions, type PodLifecycleOptions,
} from './node-pods.js';
export {
  containerBackoffKey, emptyPodMemory, planPodSync, pullPolicyOf,
  type HookState, type ObservedContainer, type ObservedContainerState, type ObservedSandbox, type PlannedEvent,
  type PlannerConfig, type PodAction, type PodActionType, type PodLifecycle, type PodMemory, type PodSyncInput,
  type PodSyncPlan, type RuntimePodView, type StartFailure,
} from './pod-sync-plan.js';
export { KUBELET_BACKOFF, type BackoffConfig, type BackoffEntry } from './backoff.js';
export {
  ANNOTATION_SPEC_IMAGE, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID,
} from './cri-pod-config.js';

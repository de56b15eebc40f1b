// Public surface of the agent's image puller: NodeImage → pulls within limits → status (spec §4.6, issue 7).
export {
  IMAGEPULLER_CONTROLLER_NAME, ImagePullerController, compileImagePullerControllerOptions, nodeImageInformer,
  type CompiledImagePullerControllerOptions, type ImagePullerControllerOptions,
} from './imagepuller-controller.js';
export {
  ImagePuller, compileImagePullerOptions, type CompiledImagePullerOptions, type CredentialSource,
  type ImagePullerOptions,
} from './image-puller.js';
export { NodeImageStatusWriter, type StatusWriterOptions } from './status-writer.js';
export {
  AgentMetrics, type ImagePullerMetrics, type PullResult, type StatusWriteResult,
} from './agent-metrics.js';
export { PullSecretReader, type PullSecretReaderOptions } from './pull-secrets.js';
export { KeyedMutex, type Release } from './keyed-mutex.js';
export { wallClock } from './wall-clock.js';
export {
  DEADLINE_MESSAGE, DEFAULT_PULL_BACKOFF, PULL_TASK_TRANSITIONS, PullTask, attemptBudgetMs, buildNodeImageStatus,
  compileTagPolicy, deadlineAt, decideAfterFailure, formatTime, isFinished, planPulls, pullBackoffMs, pullReference,
  tagImagePullPolicy, tagKey,
  type AdoptStatus, type CompiledTagPolicy, type FailureDecision, type FailureInput, type KnownTask, type PullBackoff,
  type PullPlan, type PullTaskInit, type PullTaskState, type StartPull, type StopPull, type StopReason,
  type TagImagePullPolicy, type TransitionObserver,
} from './pull-task.js';

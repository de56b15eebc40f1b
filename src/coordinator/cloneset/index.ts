/**
 * The pure core of the CloneSet controller (spec §2, §3, §4.1, §4.7, §5, §6): revisions and their hashes, the
 * scale/update diff computation, Pod ordering and choice, in-place update detection, pre-download decisions and
 * status. No I/O, no clock: the controller around it passes `now` and applies the results.
 */
export {
  calculateDiffs, countPods, isEmptyDiffs, maxSurgeReplicas, maxUnavailableReplicas, partitionReplicas, EMPTY_DIFFS,
  type DiffGates, type ExpectationDiffs, type PodCounts,
} from './diffs.js';
export { compareGoStrings, goJsonMarshal, goJsonString, goPodTemplateJson, type JsonValue } from './go-json.js';
export {
  calculateInPlaceUpdateSpec, canUpdateInPlace, inPlaceUpdateCompleted, inPlaceUpdateStateValue,
  readInPlaceUpdateState, type InPlaceCompletion, type InPlaceUpdateSpec,
} from './inplace.js';
export {
  applyDeleteReadyLimit, choosePodsToDelete, chooseScaleInVictims, chooseSpecifiedToDelete, chooseUpdateCandidates,
  compareActivePods, compareForDeletion, intFromStringSuffix, podDeletionCost, sortByPriority, sortByScatter,
  sortUpdateCandidates, type ReadyBudgetResult, type UpdateChoice,
} from './pod-order.js';
export {
  formatTimeMs, isInPlaceUpdateGracePending, isPodActive, isPodAvailable, isPodK8sReady, isPodReady,
  isPodUpdateReady, isSpecifiedDelete, maxContainerRestarts, parseTimeMs, podCondition, podLifecycleState,
  readySinceMs,
} from './pod-state.js';
export {
  changedContainerImages, decidePreDownload, preDownloadJob, DEFAULT_PREDOWNLOAD_PARALLELISM,
  DEFAULT_PREDOWNLOAD_TIMEOUT_SECONDS, MINIMUM_REPLICAS_TO_PREDOWNLOAD, PREDOWNLOAD_BACKOFF_LIMIT,
  PREDOWNLOAD_TTL_SECONDS_AFTER_FINISHED, type PreDownloadDecision, type PreDownloadIgnoreReason,
  type PreDownloadOptions,
} from './predownload.js';
export {
  cloneSetOwnerReference, equalRevision, fnv1_32, hashRevision, isPodOnRevision, newRevision, nextRevisionNumber,
  ownedRevisions, podMatchesRevision, resolveRevisions, revisionData, revisionLabelValue, revisionName,
  safeEncodeString, shortHash, sortRevisions, storedRevisionData, REVISION_NAME_PREFIX_MAX_BYTES,
  SAFE_ENCODE_ALPHABET, type ControllerRevision, type ResolveRevisionsInput, type RevisionPlan,
} from './revision.js';
export { computeStatus, labelSelectorString, minReadyRequeueMs, statusNeedsUpdate, type StatusInput } from './status.js';

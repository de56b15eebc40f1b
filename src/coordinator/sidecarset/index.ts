/**
 * The pure core of SidecarSet (spec §7): hashes for the SidecarSet webhook, injection for the Pod webhook, the
 * upgrade planner for the controller and the hot-upgrade decisions. No I/O here; the webhook handler, the
 * controller's executor and the agent's swap are built around these functions.
 */
export {
  SAFE_ENCODE_ALPHABET, safeEncodeString, sidecarSetHash, sidecarSetHashWithoutImage, sidecarSetHashAnnotations,
  sidecarSetHashInput, sidecarSetRevision, sidecarSetRevisionWithoutImage,
} from './hash.js';
export { canonicalQuantity, goJson, goJsonString } from './go-json.js';
export {
  injectSidecars, matchingSidecarSets, podMatchesSidecarSet, isPodActiveForSidecarSet, mergeSidecarContainers,
  mergeEnvVars, mergeVolumeMounts, mergeVolumes, sharedVolumeMountsAndEnvs, transferredEnvs, type InjectionResult,
} from './injection.js';
export {
  encodeSidecarSetHashAnnotation, parseSidecarSetHashAnnotation, podSidecarSetRevision,
  podSidecarSetRevisionWithoutImage, podHashAnnotationUpdate, hotUpgradeContainerNames, isHotUpgradeSidecar,
  parseWorkingHotUpgradeAnnotation, encodeWorkingHotUpgradeAnnotation, sidecarContainerNamesInPod,
  parseSidecarSetInPlaceUpdateState, inPlaceUpdateStateAnnotation, formatTime, type SidecarSetUpgradeSpec,
  type SidecarSetHashMap,
} from './pod-annotations.js';
export { isDigestImage, imageIdMatchesDigest, sameImage, parseImage, type ImageParts } from './image-digest.js';
export { isRunningAndReady, isPodConsistent, isPodReadyForSidecarSet, isHotUpgradeSettled } from './consistency.js';
export { expandScatterTerms, scatterSort } from './scatter.js';
export {
  workingContainer, hotUpgradeTarget, hotUpgradeChanges, resetChanges, needsHotUpgradeReset, isPodInHotUpgrading,
  isHotUpgradingReady, applySidecarPodPatch, type SidecarPodPatch,
} from './hot-upgrade.js';
export {
  matchedPods, isPodSidecarUpdated, sidecarSetStatus, statusChanged, isPodUpgradable, choosePodsToUpgrade,
  choosePodsToUpgradeWithReason, coldUpgradePatch, upgradePatch, planSidecarSet, type UpgradeChoice,
  type UpgradeSkipReason, type SidecarSetPodAction, type SidecarSetPlan,
} from './upgrade-plan.js';

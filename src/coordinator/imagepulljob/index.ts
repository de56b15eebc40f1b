/** The ImagePullJob controller (spec §4.5) and the wiring of both image controllers into a Manager. */
export { registerImagePullControllers, type ImagePullControllersOptions } from './register-controllers.js';
export {
  newImagePullJobController, ImagePullJobReconciler, IMAGEPULLJOB_CONTROLLER_NAME, INDEX_JOB_IMAGE_NAME, INDEX_MIRROR_JOB,
  jobImageOf, type ImagePullJobControllerOptions, type ImagePullJobInformers,
} from './imagepulljob-controller.js';
export {
  planImagePullJob, classifyNode, parallelismOf, progressMessage, formatOneDecimal,
  MESSAGE_COMPLETED, MESSAGE_EXCEEDS_DEADLINE, MESSAGE_NO_PROGRESS,
  type ImagePullJobPlan, type ImagePullJobPlanInput, type NodeClass,
} from './imagepulljob-planner.js';
export {
  addJobToNodeImage, refreshJobTag, releaseJobFromOtherTags, desiredJobTag, tagPullPolicy, ttlRange, jobOwnerReference,
  ALWAYS_TTL_EXTRA_SECONDS, ALWAYS_TTL_JITTER_SECONDS, NEVER_TTL_SECONDS, NEVER_TTL_JITTER_SECONDS,
  NEVER_ACTIVE_DEADLINE_SECONDS, type DesiredJobTag, type JobImage,
} from './nodeimage-tag-sync.js';
export { targetNodeNames, compareActivePods, compareCreation, isActivePod, type TargetNodesInput } from './target-nodes.js';
export {
  mirrorSecretName, mirroredSecretRefs, planMirrors, desiredMirror, jobPullSecretNames,
  MIRROR_JOB_UID_LABEL, MIRROR_JOB_NAMESPACE_LABEL, MIRROR_JOB_ANNOTATION, MIRROR_SOURCE_ANNOTATION,
  MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION, type MirrorPlan, type SecretObject,
} from './secret-mirror.js';

/** The NodeImage controller (spec §4.4): one NodeImage per Node, tag garbage collection, agent supervision. */
export {
  newNodeImageController, NodeImageReconciler, NODEIMAGE_CONTROLLER_NAME,
  type NodeImageControllerOptions, type NodeImageInformers,
} from './nodeimage-controller.js';
export {
  planNodeImage, gcNodeImageSpec, superviseNodeImageStatus, newNodeImage, pullFailedMessage,
  NOT_RESPONDED_MESSAGE, PULLING_EXCEEDS_DEADLINE_MESSAGE, ACTIVE_DEADLINE_GRACE_MS, DEFAULT_NODEIMAGE_PLANNER_OPTIONS,
  type NodeImageAction, type NodeImagePlan, type NodeImagePlanInput, type NodeImagePlannerOptions, type NodeLike,
  type OwnerJob, type TagFailure,
} from './nodeimage-planner.js';
export { INDEX_IMAGEPULLJOB_OWNER_UID, imagePullJobOwnerUids, imageTagReference, isImagePullJobRef } from './nodeimage-owners.js';
export { formatTime, parseTime } from './rfc3339.js';

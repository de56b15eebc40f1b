/**
 * The event reasons Kruise v0.9 emits (spec: /work/shared/spec/kruise-v0.9.md, section cited per reason). Reasons
 * are part of the API users grep and alert on (`kubectl get events --field-selector reason=...`), so they are
 * spelled exactly as upstream, including its `PullImageSucceed`.
 */
export const EventReason = {
  // CloneSet scale (§3.3) and update (§3.6)
  /** A Pod (or its PVCs) was created by scale-out. */
  SuccessfulCreate: 'SuccessfulCreate',
  /** A Pod creation failed; the slow-start batch stops. */
  FailedCreate: 'FailedCreate',
  /** A Pod was deleted by scale-in or specified deletion (upstream `cloneset_scale.go`; not named in the spec). */
  SuccessfulDelete: 'SuccessfulDelete',
  /** A Pod's images were patched in place. */
  SuccessfulUpdatePodInPlace: 'SuccessfulUpdatePodInPlace',
  /** A Pod was marked `apps.kruise.io/specified-delete` to be recreated on the new revision. */
  SuccessfulUpdatePodReCreate: 'SuccessfulUpdatePodReCreate',
  /** Scale-out capped by `scaleStrategy.maxUnavailable` (main only, not v0.9.0; §3.8). */
  ScaleUpLimited: 'ScaleUpLimited',

  // Image pre-download for CloneSet in-place update (§4.1)
  /** "created ImagePullJob <name> for image: <image>". */
  CreatedImagePullJob: 'CreatedImagePullJob',
  /** Creating a pre-download ImagePullJob failed (other than AlreadyExists). */
  FailedCreateImagePullJob: 'FailedCreateImagePullJob',

  // NodeImage controller (§4.4) and daemon image puller (§4.6)
  /** Normal, on the NodeImage, when a tag was pulled. */
  PullImageSucceed: 'PullImageSucceed',
  /** Warning, on every owner and the NodeImage: "Failed to pull image <img:tag> on node <node> for <message>". */
  PullImageFailed: 'PullImageFailed',

  // SidecarSet hot upgrade reset (§7.5)
  /** Normal: "reset sidecar container image empty successfully". */
  ResetContainerSucceed: 'ResetContainerSucceed',
  /** Warning: resetting the non-working sidecar container failed. */
  ResetContainerFailed: 'ResetContainerFailed',
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** core/v1 event types. */
export type EventType = 'Normal' | 'Warning';

/**
 * Every label, annotation, condition, env and namespace name that Kruise semantics depend on. The strings are
 * v0.9.0's (users' tooling reads them); each constant says who writes it, who reads it and the spec section.
 */

// ---- namespaces ----------------------------------------------------------------------------------------------

/** Where the coordinator, the agent's secret mirror and our webhooks live (upstream: kruise-system). */
export const SYSTEM_NAMESPACE = 'kruise-system';
/** Pods here are never injected with sidecars (§7.2). */
export const IGNORED_INJECTION_NAMESPACES: readonly string[] = Object.freeze(['kube-system', 'kube-public']);
/** Namespaces with this label are excluded from the Pod webhook by its namespaceSelector (§7.2). */
export const CONTROL_PLANE_LABEL = 'control-plane';

// ---- revisions -----------------------------------------------------------------------------------------------

/** Pod label with the CloneSet revision: full revision name, or only the hash with CloneSetShortHash (§6.3). */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** ControllerRevision label with the bare revision hash; also on pre-download ImagePullJobs (§4.1, §6.1). */
export const CONTROLLER_REVISION_HASH_ONLY_LABEL = 'controller.kubernetes.io/hash';
/** main only: short revision hash on every Pod, in both CloneSetShortHash modes (§6.3). */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

// ---- CloneSet scale and delete -------------------------------------------------------------------------------

/** Pod label: presence (any value; we write "true") marks the Pod for deletion by its CloneSet (§2.4, §3.6). */
export const SPECIFIED_DELETE_LABEL = 'apps.kruise.io/specified-delete';
/** Pod annotation, decimal int32, lower is deleted first at scale-in; invalid → 0 (§2.1). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
/** Label on a CloneSet Pod and its PVCs: the shared instance id; PVCs are deleted and reused by it (§2.4, §3.3). */
export const CLONESET_INSTANCE_ID_LABEL = 'apps.kruise.io/cloneset-instance-id';

// ---- lifecycle ----------------------------------------------------------------------------------------------

/** Pod label: Normal | PreparingUpdate | Updating | Updated | PreparingDelete (§2.4, §3.6). */
export const LIFECYCLE_STATE_LABEL = 'lifecycle.apps.kruise.io/state';
/** Pod annotation: when the lifecycle state last changed (RFC 3339). */
export const LIFECYCLE_TIMESTAMP_ANNOTATION = 'lifecycle.apps.kruise.io/timestamp';

// ---- in-place update ----------------------------------------------------------------------------------------

/** Pod annotation: JSON InPlaceUpdateState written when an in-place update starts; read to detect completion (§4.7). */
export const INPLACE_UPDATE_STATE_ANNOTATION = 'apps.kruise.io/inplace-update-state';
/** Legacy name of the state annotation, still read and removed on update (§4.7). */
export const INPLACE_UPDATE_STATE_ANNOTATION_OLD = 'inplace-update-state';
/** Pod annotation: the pending spec while `gracePeriodSeconds` runs; Pods carrying it are not update candidates (§3.6). */
export const INPLACE_UPDATE_GRACE_ANNOTATION = 'apps.kruise.io/inplace-update-grace';
/** Legacy name of the grace annotation. */
export const INPLACE_UPDATE_GRACE_ANNOTATION_OLD = 'inplace-update-grace';
/** Pod readiness gate and condition: False while an in-place update runs, True once done (§3.3, §4.7). */
export const INPLACE_UPDATE_READY_CONDITION = 'InPlaceUpdateReady';
/** Readiness gate Kruise injects (all Pods with KruisePodReadinessGate, else Kruise workloads' Pods) (§0.1, §8.4). */
export const KRUISE_POD_READY_CONDITION = 'KruisePodReady';

// ---- image pre-download (CloneSet → ImagePullJob) ------------------------------------------------------------

/** ControllerRevision label: jobs for this revision were created (the key really says "pre-predownload") (§4.1). */
export const IMAGE_PREDOWNLOAD_CREATED_LABEL = 'apps.kruise.io/pre-predownload-created';
/** ControllerRevision label: this revision was judged not worth pre-downloading (§4.1). */
export const IMAGE_PREDOWNLOAD_IGNORED_LABEL = 'apps.kruise.io/image-predownload-ignored';
/** CloneSet annotation: decimal `parallelism` of pre-download jobs; unparsable → 1 (§4.1). */
export const IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION = 'apps.kruise.io/image-predownload-parallelism';
/** CloneSet annotation: `pullPolicy.timeoutSeconds` of pre-download jobs; default 300 (§4.1). */
export const IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS_ANNOTATION = 'apps.kruise.io/image-predownload-timeout-seconds';
/** CloneSet annotation (main): int-or-percent of updated-ready Pods required before jobs are created (§4.1). */
export const IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS_ANNOTATION =
  'apps.kruise.io/image-predownload-min-updated-ready-pods';

// ---- NodeImage ----------------------------------------------------------------------------------------------

/** NodeImage label: a NodeImage without a Node (tests); never garbage-collected (§4.4). */
export const FAKE_NODEIMAGE_LABEL = 'apps.kruise.io/fake-nodeimage';
/** CRI sandbox annotation (main) marking pulls made by the agent (§8.2). */
export const PULLING_IMAGE_BY_ANNOTATION = 'apps.kruise.io/pulling-image-by';

// ---- deletion protection ------------------------------------------------------------------------------------

/** Label on the protected object: `Always` or `Cascading` (§1.1). */
export const DELETION_PROTECTION_LABEL = 'policy.kruise.io/delete-protection';
export const DELETION_PROTECTION_ALWAYS = 'Always';
export const DELETION_PROTECTION_CASCADING = 'Cascading';

// ---- SidecarSet ---------------------------------------------------------------------------------------------

/**
 * On the SidecarSet: safe-encoded SHA-256 of its containers. On the Pod: JSON map set name →
 * {updateTimestamp, hash, sidecarSetName}; a Pod is "updated" when its entry equals the set's (§7.1–7.3).
 */
export const SIDECARSET_HASH_ANNOTATION = 'kruise.io/sidecarset-hash';
/** Same as the hash with every image blanked; a Pod may be upgraded only while its entry equals the set's (§7.3). */
export const SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION = 'kruise.io/sidecarset-hash-without-image';
/** Pod annotation: comma-joined names of the SidecarSets injected into it (§7.2). */
export const SIDECARSET_INJECTED_LIST_ANNOTATION = 'kruise.io/sidecarset-injected-list';
/** Pod annotation: JSON map set name → InPlaceUpdateState with pre-update imageIDs, for consistency checks (§7.3, §7.4). */
export const SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION = 'kruise.io/sidecarset-inplace-update-state';
/** Pod annotation: JSON map sidecar name → working container name (`X-1` or `X-2`) (§7.5). */
export const SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION = 'kruise.io/sidecarset-working-hotupgrade-container';
/** Prefix of the Pod annotation `version.sidecarset.kruise.io/<container>` read by the sidecar via env (§7.5). */
export const SIDECARSET_VERSION_ANNOTATION_PREFIX = 'version.sidecarset.kruise.io/';
/** Prefix of `versionalt.sidecarset.kruise.io/<container>` (the code's spelling, not the proposal's `version_alt`) (§7.5). */
export const SIDECARSET_VERSION_ALT_ANNOTATION_PREFIX = 'versionalt.sidecarset.kruise.io/';
/** Env injected into hot sidecars from the version annotation (downward API) (§7.5). */
export const SIDECARSET_VERSION_ENV = 'SIDECARSET_VERSION';
export const SIDECARSET_VERSION_ALT_ENV = 'SIDECARSET_VERSION_ALT';
/** Env `IS_INJECTED=true` on every injected container; such containers never share their mounts (§7.2). */
export const SIDECAR_IS_INJECTED_ENV = 'IS_INJECTED';
/** Hot sidecar `X` becomes `X-1` and `X-2` in the Pod (§7.5). */
export const HOT_UPGRADE_CONTAINER_SUFFIXES: readonly ['-1', '-2'] = Object.freeze(['-1', '-2'] as const);

export function sidecarSetVersionAnnotation(containerName: string): string {
  return SIDECARSET_VERSION_ANNOTATION_PREFIX + containerName;
}

export function sidecarSetVersionAltAnnotation(containerName: string): string {
  return SIDECARSET_VERSION_ALT_ANNOTATION_PREFIX + containerName;
}

/**
 * kruise-ts's own: the coordinator's request to the agent on a pod's node to hot-swap sidecars (JSON
 * `{sidecarSet, resourceVersion, sidecars: [{name, image, emptyImage}]}`); the agent removes it when done.
 * Format and contract: src/coordinator/sidecarset/hot-upgrade-request.ts.
 */
export const SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION = 'kruise-ts.io/sidecarset-hot-upgrade-request';

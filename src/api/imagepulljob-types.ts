/**
 * ImagePullJob (`apps.kruise.io/v1alpha1`, namespaced), as v0.9.0's `imagepulljob_types.go`, plus our additive optional
 * `spec.imagePullPolicy` (upstream added it later; upstream #1814).
 */
import type { IntOrString, KubeObject, LabelSelector, ObjectMeta } from './meta.js';
import type { KIND_IMAGEPULLJOB } from './group-version.js';

/** Selects NodeImages (same names and labels as the Nodes). `names` and the label selector are exclusive. */
export interface ImagePullJobNodeSelector extends LabelSelector {
  names?: string[];
}

export interface ImagePullJobPullPolicy {
  /** Per attempt; default 600. */
  timeoutSeconds?: number;
  /** Retries after the first attempt; default 3. */
  backoffLimit?: number;
}

export type CompletionPolicyType = 'Always' | 'Never';
export const COMPLETION_POLICY_TYPES: readonly CompletionPolicyType[] = Object.freeze(['Always', 'Never']);

export interface CompletionPolicy {
  /** Default Always. `Never` jobs never complete and re-pull roughly daily (§4.5). */
  type?: CompletionPolicyType;
  /** Always only. */
  activeDeadlineSeconds?: number;
  /** Always only. */
  ttlSecondsAfterFinished?: number;
}

/** Our addition: whether a node that already has the image pulls again (moving tags). Default IfNotPresent. */
export type ImagePullJobImagePullPolicy = 'Always' | 'IfNotPresent';
export const IMAGE_PULL_JOB_IMAGE_PULL_POLICIES: readonly ImagePullJobImagePullPolicy[] =
  Object.freeze(['Always', 'IfNotPresent']);

export interface ImagePullJobSpec {
  image: string;
  /** Secret names in the job's namespace. */
  pullSecrets?: string[];
  selector?: ImagePullJobNodeSelector;
  /** Pods in the job's namespace; their nodes are the targets. Exclusive with `selector`. */
  podSelector?: LabelSelector;
  /** Nodes pulling at once. nil → 1 (controller); 0 pauses; read with `intValue`, so "50%" → 0 (§0.2). */
  parallelism?: IntOrString;
  pullPolicy?: ImagePullJobPullPolicy;
  /** Required by the CRD; the mutating webhook fills `type` when it is empty. */
  completionPolicy?: CompletionPolicy;
  imagePullPolicy?: ImagePullJobImagePullPolicy;
}

export interface ImagePullJobStatus {
  startTime?: string;
  completionTime?: string;
  desired: number;
  active: number;
  succeeded: number;
  failed: number;
  message?: string;
  failedNodes?: string[];
}

export interface ImagePullJob extends KubeObject {
  apiVersion: string;
  kind: typeof KIND_IMAGEPULLJOB;
  metadata: ObjectMeta;
  spec: ImagePullJobSpec;
  status?: ImagePullJobStatus;
}

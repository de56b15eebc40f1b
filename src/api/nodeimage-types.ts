/**
 * NodeImage (`apps.kruise.io/v1alpha1`, cluster-scoped, one per Node with the Node's name and labels), as v0.9.0's
 * `nodeimage_types.go`. Image maps are keyed by the familiar repository name (`nginx`, `registry:5000/ns/app`).
 */
import type { KubeObject, ObjectMeta } from './meta.js';
import type { ObjectReference } from './object-reference.js';
import type { KIND_NODEIMAGE } from './group-version.js';
import type { ImagePullJobImagePullPolicy } from './imagepulljob-types.js';

/** A Secret by namespace and name (the job's namespace; mirrored into the system namespace for the agent). */
export interface ReferenceObject {
  namespace?: string;
  name?: string;
}

export interface ImageTagPullPolicy {
  /** Default 600. */
  timeoutSeconds?: number;
  /** Default 3. */
  backoffLimit?: number;
  /** Required by validation: how long the tag stays after the pull finished. */
  ttlSecondsAfterFinished?: number;
  activeDeadlineSeconds?: number;
}

export interface ImageTagSpec {
  /** A tag, or a digest such as `sha256:…`. */
  tag: string;
  /** Defaulted to admission time. */
  createdAt?: string;
  pullPolicy?: ImageTagPullPolicy;
  /** The ImagePullJobs that want this tag. */
  ownerReferences?: ObjectReference[];
  /** ≥ 0; bumping it asks for a new pull round. */
  version?: number;
  /**
   * Our addition (upstream #1814): `Always` asks the agent to pull even when the runtime already has `name:tag`, so
   * a moved tag is noticed (the new digest shows in the status `imageID`). Absent means IfNotPresent. Written by the
   * ImagePullJob controller from the job's `imagePullPolicy` together with a version bump.
   */
  imagePullPolicy?: ImagePullJobImagePullPolicy;
}

export interface ImageSpec {
  pullSecrets?: ReferenceObject[];
  tags: ImageTagSpec[];
}

export interface NodeImageSpec {
  images?: Record<string, ImageSpec>;
}

export type ImagePullPhase = 'Waiting' | 'Pulling' | 'Succeeded' | 'Failed';

export interface ImageTagStatus {
  tag: string;
  phase: ImagePullPhase;
  /** 0–100. We report 0 until done and 100 after (CRI gives no progress; spec README). */
  progress?: number;
  startTime?: string;
  completionTime?: string;
  /** The spec version this status is about. */
  version?: number;
  imageID?: string;
  message?: string;
}

export interface ImageStatus {
  tags: ImageTagStatus[];
}

export type SyncStatusPhase = 'Succeeded' | 'Failed';

/** Declared upstream, never written by v0.9.0. */
export interface SyncStatus {
  syncAt?: string;
  status?: SyncStatusPhase;
  message?: string;
}

export interface NodeImageStatus {
  desired: number;
  succeeded: number;
  failed: number;
  pulling: number;
  imageStatuses?: Record<string, ImageStatus>;
  firstSyncStatus?: SyncStatus;
}

export interface NodeImage extends KubeObject {
  apiVersion: string;
  kind: typeof KIND_NODEIMAGE;
  metadata: ObjectMeta;
  spec: NodeImageSpec;
  status?: NodeImageStatus;
}

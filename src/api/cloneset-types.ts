/**
 * CloneSet (`apps.kruise.io/v1alpha1`, namespaced), field for field as v0.9.0's `apis/apps/v1alpha1/cloneset_types.go`
 * serialises it. Optional here = may be absent on the wire (before defaulting, or omitempty).
 */
import type { IntOrString, KubeObject, LabelSelector, ObjectMeta } from './meta.js';
import type { PodTemplateSpec } from './pod-types.js';
import type { PersistentVolumeClaim } from './pvc-types.js';
import type {
  InPlaceUpdateStrategy, UpdatePriorityStrategy, UpdateScatterStrategy, WorkloadLifecycle,
} from './workload-common-types.js';
import type { KIND_CLONESET } from './group-version.js';

export type CloneSetUpdateStrategyType = 'ReCreate' | 'InPlaceIfPossible' | 'InPlaceOnly';
export const CLONESET_UPDATE_STRATEGY_TYPES: readonly CloneSetUpdateStrategyType[] =
  Object.freeze(['ReCreate', 'InPlaceIfPossible', 'InPlaceOnly']);

/** Default of `spec.updateStrategy.maxUnavailable` (upstream `DefaultCloneSetMaxUnavailable`). */
export const DEFAULT_CLONESET_MAX_UNAVAILABLE = '20%';

export interface CloneSetScaleStrategy {
  /** Pod names to delete (and recreate unless replicas drops); names of vanished Pods are pruned by the controller. */
  podsToDelete?: string[];
}

export interface CloneSetUpdateStrategy {
  type?: CloneSetUpdateStrategyType;
  /** Pods to keep on old revisions; percentages of replicas rounded up. Default 0. */
  partition?: IntOrString;
  /** Default "20%"; rounded down when maxSurge > 0. */
  maxUnavailable?: IntOrString;
  /** Default 0. */
  maxSurge?: IntOrString;
  paused?: boolean;
  priorityStrategy?: UpdatePriorityStrategy;
  scatterStrategy?: UpdateScatterStrategy;
  inPlaceUpdateStrategy?: InPlaceUpdateStrategy;
}

export interface CloneSetSpec {
  /** Default 1. */
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  volumeClaimTemplates?: PersistentVolumeClaim[];
  scaleStrategy?: CloneSetScaleStrategy;
  updateStrategy?: CloneSetUpdateStrategy;
  /** Default 10. */
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  lifecycle?: WorkloadLifecycle;
}

export type CloneSetConditionType = 'FailedScale' | 'FailedUpdate';

export interface CloneSetCondition {
  type: CloneSetConditionType;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CloneSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
  updatedReadyReplicas: number;
  /** Full revision names, whatever CloneSetShortHash says (§6.3). */
  updateRevision?: string;
  currentRevision?: string;
  collisionCount?: number;
  conditions?: CloneSetCondition[];
  /** Selector string for the scale subresource (HPA). */
  labelSelector?: string;
}

export interface CloneSet extends KubeObject {
  apiVersion: string;
  kind: typeof KIND_CLONESET;
  metadata: ObjectMeta;
  spec: CloneSetSpec;
  status?: CloneSetStatus;
}

/**
 * Types shared by Kruise workloads (upstream `apis/apps/pub` and `scatter_strategy.go`): lifecycle hooks,
 * update priority and scatter strategies, in-place update strategy and state.
 */
import type { LabelSelector } from './meta.js';

/** Values of the Pod label `lifecycle.apps.kruise.io/state`. */
export type LifecycleState = 'Normal' | 'PreparingUpdate' | 'Updating' | 'Updated' | 'PreparingDelete';

export interface LifecycleHook {
  labelsHandler?: Record<string, string>;
  finalizersHandler?: string[];
}

export interface WorkloadLifecycle {
  preDelete?: LifecycleHook;
  inPlaceUpdate?: LifecycleHook;
}

export interface UpdatePriorityOrderTerm {
  orderedKey: string;
}

export interface UpdatePriorityWeightTerm {
  /** 0–100 (upstream's message says 1-100 but accepts 0). */
  weight: number;
  matchSelector: LabelSelector;
}

/** Only one of the two lists may be set. */
export interface UpdatePriorityStrategy {
  orderPriority?: UpdatePriorityOrderTerm[];
  weightPriority?: UpdatePriorityWeightTerm[];
}

export interface UpdateScatterTerm {
  key: string;
  /** SidecarSet also accepts `*` (one term per distinct value). */
  value: string;
}

export type UpdateScatterStrategy = UpdateScatterTerm[];

export interface InPlaceUpdateStrategy {
  gracePeriodSeconds?: number;
}

export interface InPlaceUpdateContainerStatus {
  imageID?: string;
}

/** JSON value of the Pod annotation `apps.kruise.io/inplace-update-state` (§4.7). */
export interface InPlaceUpdateState {
  revision: string;
  updateTimestamp: string;
  lastContainerStatuses: Record<string, InPlaceUpdateContainerStatus>;
}

/**
 * SidecarSet (`apps.kruise.io/v1alpha1`, cluster-scoped), as v0.9.0's `sidecarset_types.go`. A sidecar container is a
 * corev1.Container plus four Kruise fields.
 */
import type { IntOrString, KubeObject, LabelSelector, ObjectMeta } from './meta.js';
import type { Container, Volume } from './pod-types.js';
import type { UpdateScatterStrategy } from './workload-common-types.js';
import type { KIND_SIDECARSET } from './group-version.js';

export type PodInjectPolicyType = 'BeforeAppContainer' | 'AfterAppContainer';
export const POD_INJECT_POLICY_TYPES: readonly PodInjectPolicyType[] =
  Object.freeze(['BeforeAppContainer', 'AfterAppContainer']);

export type ShareVolumePolicyType = 'enabled' | 'disabled';
export const SHARE_VOLUME_POLICY_TYPES: readonly ShareVolumePolicyType[] = Object.freeze(['enabled', 'disabled']);

export type SidecarContainerUpgradeType = 'ColdUpgrade' | 'HotUpgrade';
export const SIDECAR_CONTAINER_UPGRADE_TYPES: readonly SidecarContainerUpgradeType[] =
  Object.freeze(['ColdUpgrade', 'HotUpgrade']);

export interface ShareVolumePolicy {
  type?: ShareVolumePolicyType;
}

export interface TransferEnvVar {
  sourceContainerName?: string;
  envName?: string;
}

export interface SidecarContainerUpgradeStrategy {
  /** Default ColdUpgrade; immutable once set (§7.1). */
  upgradeType?: SidecarContainerUpgradeType;
  /** The idle image of the spare container; we require it for HotUpgrade (our addition, upstream #855). */
  hotUpgradeEmptyImage?: string;
}

export interface SidecarContainer extends Container {
  /** Default BeforeAppContainer. */
  podInjectPolicy?: PodInjectPolicyType;
  upgradeStrategy?: SidecarContainerUpgradeStrategy;
  /** Default `disabled`. */
  shareVolumePolicy?: ShareVolumePolicy;
  transferEnv?: TransferEnvVar[];
}

export type SidecarSetUpdateStrategyType = 'NotUpdate' | 'RollingUpdate';
export const SIDECARSET_UPDATE_STRATEGY_TYPES: readonly SidecarSetUpdateStrategyType[] =
  Object.freeze(['NotUpdate', 'RollingUpdate']);

export interface SidecarSetUpdateStrategy {
  /** Default RollingUpdate. */
  type?: SidecarSetUpdateStrategyType;
  paused?: boolean;
  /** Only matched Pods that this also selects are upgraded. */
  selector?: LabelSelector;
  /** Matched Pods to keep on old versions; percentages rounded down. Default 0. */
  partition?: IntOrString;
  /** Default 1; percentages rounded down. */
  maxUnavailable?: IntOrString;
  /** A term value `*` expands to every value of that label. */
  scatterStrategy?: UpdateScatterStrategy;
}

export interface SidecarSetSpec {
  /** Required and non-empty (validation). */
  selector?: LabelSelector;
  /** When set, only Pods of this namespace match. */
  namespace?: string;
  /** Injected at Pod creation only, never upgraded. */
  initContainers?: SidecarContainer[];
  containers?: SidecarContainer[];
  volumes?: Volume[];
  updateStrategy?: SidecarSetUpdateStrategy;
}

export interface SidecarSetStatus {
  observedGeneration?: number;
  matchedPods: number;
  updatedPods: number;
  readyPods: number;
  updatedReadyPods?: number;
}

export interface SidecarSet extends KubeObject {
  apiVersion: string;
  kind: typeof KIND_SIDECARSET;
  metadata: ObjectMeta;
  spec: SidecarSetSpec;
  status?: SidecarSetStatus;
}

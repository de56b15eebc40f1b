/**
 * corev1.PersistentVolumeClaim as used by CloneSet `volumeClaimTemplates`: typed where the CloneSet controller reads
 * (name, labels, requests), everything else passes through (the CRD preserves unknown fields there).
 */
import type { ObjectMeta } from './meta.js';
import type { ResourceRequirements } from './pod-types.js';

export interface PersistentVolumeClaimSpec {
  accessModes?: string[];
  resources?: ResourceRequirements;
  storageClassName?: string;
  volumeMode?: string;
  volumeName?: string;
  [field: string]: unknown;
}

export interface PersistentVolumeClaim {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: PersistentVolumeClaimSpec;
  status?: { phase?: string; [field: string]: unknown };
}

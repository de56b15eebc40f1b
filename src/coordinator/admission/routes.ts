/** The handler for every webhook of the table in webhook-configurations.ts, keyed by path. */
import type { FeatureGates, SidecarSet } from '../../api/index.js';
import { cloneSetMutatingHandler, cloneSetValidatingHandler } from './cloneset-webhook.js';
import {
  alwaysOnlyDeletionHandler, crdDeletionHandler, deletionProtectionLabelWarningHandler, namespaceDeletionHandler,
  workloadDeletionHandler, type DeletionProtectionOptions,
} from './deletion-protection.js';
import { imagePullJobMutatingHandler, imagePullJobValidatingHandler } from './imagepulljob-webhook.js';
import type { AdmissionLookups } from './lookups.js';
import type { DeletionDenialRecorder } from './metrics.js';
import { nodeImageMutatingHandler, nodeImageValidatingHandler } from './nodeimage-webhook.js';
import { podMutatingHandler } from './pod-webhook.js';
import { sidecarSetMutatingHandler, sidecarSetValidatingHandler } from './sidecarset-webhook.js';
import type { AdmissionHandler } from './types.js';
import { WEBHOOKS, type HandlerKey } from './webhook-configurations.js';

export interface RouteOptions {
  gates: FeatureGates;
  lookups: AdmissionLookups;
  /** Where the pod webhook, on every Pod CREATE, finds the SidecarSets (a cache in the server). @default lookups */
  podSidecarSets?: Pick<AdmissionLookups, 'listSidecarSets'>;
  metrics?: DeletionDenialRecorder;
  sidecarSetHashAnnotations?: (set: SidecarSet) => Record<string, string>;
}

export function buildHandlers(o: RouteOptions): Record<HandlerKey, AdmissionHandler> {
  const dp: DeletionProtectionOptions = { gates: o.gates, lookups: o.lookups, ...(o.metrics ? { metrics: o.metrics } : {}) };
  return {
    'cloneset-mutating': cloneSetMutatingHandler(),
    'cloneset-validating': cloneSetValidatingHandler(dp),
    'imagepulljob-mutating': imagePullJobMutatingHandler(o.gates),
    'imagepulljob-validating': imagePullJobValidatingHandler(o.gates),
    'nodeimage-mutating': nodeImageMutatingHandler(o.gates),
    'nodeimage-validating': nodeImageValidatingHandler(o.gates),
    'sidecarset-mutating': sidecarSetMutatingHandler(o.sidecarSetHashAnnotations ? { hashAnnotations: o.sidecarSetHashAnnotations } : {}),
    'sidecarset-validating': sidecarSetValidatingHandler(o.lookups),
    'pod-mutating': podMutatingHandler({ gates: o.gates, lookups: o.podSidecarSets ?? o.lookups }),
    'namespace-deletion': namespaceDeletionHandler(dp),
    'crd-deletion': crdDeletionHandler(dp),
    'workload-deletion': workloadDeletionHandler(dp),
    'always-only-deletion': alwaysOnlyDeletionHandler(dp),
    'protection-label-warning': deletionProtectionLabelWarningHandler(),
  };
}

/** Path → handler for every webhook in the table. */
export function buildRoutes(o: RouteOptions): Map<string, AdmissionHandler> {
  const handlers = buildHandlers(o);
  return new Map(WEBHOOKS.map((w) => [w.path, handlers[w.handler]]));
}

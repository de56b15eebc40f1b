/** CloneSet CRD (upstream v0.9.0: shortName `clone`, namespaced, status and scale subresources, six columns). */
import { AGE_COLUMN, kruiseCrd } from './crd-constants.js';
import type { CustomResourceDefinition } from './crd-types.js';
import { envelope, priorityStrategy, scatterStrategy } from './common-schemas.js';
import {
  arr, bool, dateTime, int32, int64, intOrString, labelSelector, map, obj, preserved, str,
} from './schema-builders.js';

const lifecycleHook = () => obj({ finalizersHandler: arr(str()), labelsHandler: map(str()) });

export const cloneSetSchema = envelope(
  obj({
    lifecycle: obj({ inPlaceUpdate: lifecycleHook(), preDelete: lifecycleHook() }, [], {
      description: 'Hooks that hold a Pod in PreparingUpdate / PreparingDelete while their labels or finalizers are present.',
    }),
    minReadySeconds: int32({ description: 'Seconds a new Pod must be ready before it counts as available. Default 0.' }),
    replicas: int32({ description: 'Desired number of Pods. Default 1.' }),
    revisionHistoryLimit: int32({ description: 'Unused revisions kept. Default 10.' }),
    scaleStrategy: obj({
      podsToDelete: arr(str(), { description: 'Names of Pods to delete; vanished names are removed by the controller.' }),
    }),
    selector: labelSelector({ description: 'Selects the Pods of this CloneSet; must match the template labels.' }),
    template: preserved({ description: 'The Pod template (corev1.PodTemplateSpec).' }),
    updateStrategy: obj({
      inPlaceUpdateStrategy: obj({ gracePeriodSeconds: int32() }),
      maxSurge: intOrString({ description: 'Pods above replicas during update or specified deletion. Default 0.' }),
      maxUnavailable: intOrString({ description: 'Pods that may be unavailable during update or scale. Default 20%.' }),
      partition: intOrString({ description: 'Pods (or % of replicas, rounded up) kept on old revisions. Default 0.' }),
      paused: bool(),
      priorityStrategy: priorityStrategy(),
      scatterStrategy: scatterStrategy(),
      type: str({ description: 'ReCreate (default), InPlaceIfPossible or InPlaceOnly.' }),
    }),
    volumeClaimTemplates: arr(preserved(), { description: 'PVCs created per Pod (corev1.PersistentVolumeClaim).' }),
  }, ['selector', 'template']),
  obj({
    availableReplicas: int32(),
    collisionCount: int32(),
    conditions: arr(obj({
      lastTransitionTime: dateTime(),
      message: str(),
      reason: str(),
      status: str(),
      type: str(),
    }, ['status', 'type'])),
    currentRevision: str(),
    labelSelector: str({ description: 'The selector as a string, for the scale subresource (HPA).' }),
    observedGeneration: int64(),
    readyReplicas: int32(),
    replicas: int32(),
    updateRevision: str(),
    updatedReadyReplicas: int32(),
    updatedReplicas: int32(),
  }, ['availableReplicas', 'readyReplicas', 'replicas', 'updatedReadyReplicas', 'updatedReplicas']),
  'CloneSet manages a set of identical Pods, scaled and updated in place or by recreation.',
);

export const cloneSetCrd: CustomResourceDefinition = kruiseCrd('CloneSet', cloneSetSchema, [
  { name: 'DESIRED', type: 'integer', jsonPath: '.spec.replicas', description: 'The desired number of pods.' },
  { name: 'UPDATED', type: 'integer', jsonPath: '.status.updatedReplicas', description: 'The number of pods updated.' },
  {
    name: 'UPDATED_READY', type: 'integer', jsonPath: '.status.updatedReadyReplicas',
    description: 'The number of pods updated and ready.',
  },
  { name: 'READY', type: 'integer', jsonPath: '.status.readyReplicas', description: 'The number of pods ready.' },
  { name: 'TOTAL', type: 'integer', jsonPath: '.status.replicas', description: 'The number of currently all pods.' },
  AGE_COLUMN,
], {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.labelSelector',
});

/** SidecarSet CRD (upstream v0.9.0: cluster-scoped, status subresource, columns MATCHED/UPDATED/READY/AGE). */
import { AGE_COLUMN, kruiseCrd } from './crd-constants.js';
import type { CustomResourceDefinition } from './crd-types.js';
import { envelope, scatterStrategy } from './common-schemas.js';
import { arr, bool, int32, int64, intOrString, labelSelector, obj, preserved, str } from './schema-builders.js';

/** A corev1.Container (kept as is) plus the Kruise fields, which are declared. */
const sidecarContainer = () => preserved({ description: 'A corev1.Container plus Kruise injection and upgrade fields.' }, {
  image: str(),
  name: str(),
  podInjectPolicy: str({ description: 'BeforeAppContainer (default) or AfterAppContainer.' }),
  shareVolumePolicy: obj({ type: str({ description: 'enabled or disabled (default).' }) }),
  transferEnv: arr(obj({ envName: str(), sourceContainerName: str() })),
  upgradeStrategy: obj({
    hotUpgradeEmptyImage: str({ description: 'Image of the idle spare container; required for HotUpgrade.' }),
    upgradeType: str({ description: 'ColdUpgrade (default) or HotUpgrade; immutable.' }),
  }),
}, ['name']);

export const sidecarSetSchema = envelope(
  obj({
    containers: arr(sidecarContainer()),
    initContainers: arr(sidecarContainer(), { description: 'Injected at Pod creation only, never upgraded.' }),
    namespace: str({ description: 'Only Pods of this namespace match, when set.' }),
    selector: labelSelector({ description: 'The Pods to inject; required and non-empty.' }),
    updateStrategy: obj({
      maxUnavailable: intOrString({ description: 'Default 1.' }),
      partition: intOrString({ description: 'Matched Pods kept on old versions. Default 0.' }),
      paused: bool(),
      scatterStrategy: scatterStrategy(),
      selector: labelSelector({ description: 'Only these matched Pods are upgraded.' }),
      type: str({ description: 'RollingUpdate (default) or NotUpdate.' }),
    }),
    volumes: arr(preserved({ description: 'A corev1.Volume.' })),
  }),
  obj({
    matchedPods: int32(),
    observedGeneration: int64(),
    readyPods: int32(),
    updatedPods: int32(),
    updatedReadyPods: int32(),
  }, ['matchedPods', 'readyPods', 'updatedPods']),
  'SidecarSet injects sidecar containers into matching Pods and upgrades them in place.',
);

export const sidecarSetCrd: CustomResourceDefinition = kruiseCrd('SidecarSet', sidecarSetSchema, [
  { name: 'MATCHED', type: 'integer', jsonPath: '.status.matchedPods', description: 'The number of pods matched.' },
  { name: 'UPDATED', type: 'integer', jsonPath: '.status.updatedPods', description: 'The number of pods matched and updated.' },
  { name: 'READY', type: 'integer', jsonPath: '.status.readyPods', description: 'The number of pods matched and ready.' },
  AGE_COLUMN,
]);

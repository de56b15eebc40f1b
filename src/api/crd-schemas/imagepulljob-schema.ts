/** ImagePullJob CRD (upstream v0.9.0: namespaced, status subresource, columns TOTAL/ACTIVE/SUCCEED/FAILED/AGE/MESSAGE). */
import { AGE_COLUMN, kruiseCrd } from './crd-constants.js';
import type { CustomResourceDefinition } from './crd-types.js';
import { envelope } from './common-schemas.js';
import {
  arr, dateTime, int32, int64, intOrString, labelSelector, labelSelectorRequirement, map, obj, str,
} from './schema-builders.js';

export const imagePullJobSchema = envelope(
  obj({
    completionPolicy: obj({
      activeDeadlineSeconds: int64({ description: 'Always only: the job fails the unfinished nodes after this long.' }),
      ttlSecondsAfterFinished: int32({ description: 'Always only: the job is deleted this long after it completes.' }),
      type: str({ description: 'Always (default): the job completes; Never: it keeps nodes warm and never completes.' }),
    }),
    image: str({ description: 'The image to pull, e.g. nginx:1.25 or registry:5000/app@sha256:….' }),
    imagePullPolicy: str({ description: 'IfNotPresent (default) skips nodes that have the image; Always pulls again.' }),
    parallelism: intOrString({ description: 'Nodes pulling at once. Default 1; 0 pauses.' }),
    podSelector: labelSelector({ description: 'Pull on the nodes of these Pods (this namespace). Exclusive with selector.' }),
    pullPolicy: obj({
      backoffLimit: int32({ description: 'Retries per node. Default 3.' }),
      timeoutSeconds: int32({ description: 'Timeout of one attempt. Default 600.' }),
    }),
    pullSecrets: arr(str(), { description: 'Names of image pull Secrets in this namespace.' }),
    selector: obj({
      matchExpressions: arr(labelSelectorRequirement()),
      matchLabels: map(str()),
      names: arr(str(), { description: 'Node names; exclusive with the label selector.' }),
    }, [], { description: 'Which nodes pull; all when absent.' }),
  }, ['completionPolicy', 'image']),
  obj({
    active: int32({ description: 'Nodes pulling now.' }),
    completionTime: dateTime(),
    desired: int32({ description: 'Nodes targeted.' }),
    failed: int32(),
    failedNodes: arr(str()),
    message: str(),
    startTime: dateTime(),
    succeeded: int32(),
  }, ['desired']),
  'ImagePullJob pulls an image on a set of nodes ahead of need.',
);

export const imagePullJobCrd: CustomResourceDefinition = kruiseCrd('ImagePullJob', imagePullJobSchema, [
  { name: 'TOTAL', type: 'integer', jsonPath: '.status.desired', description: 'Number of all nodes matched by this job' },
  { name: 'ACTIVE', type: 'integer', jsonPath: '.status.active', description: 'Number of image pull task active' },
  { name: 'SUCCEED', type: 'integer', jsonPath: '.status.succeeded', description: 'Number of image pull task succeeded' },
  { name: 'FAILED', type: 'integer', jsonPath: '.status.failed', description: 'Number of image pull tasks failed' },
  AGE_COLUMN,
  { name: 'MESSAGE', type: 'string', jsonPath: '.status.message', description: 'Summary of status when job is failed' },
]);

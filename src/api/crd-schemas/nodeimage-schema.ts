/** NodeImage CRD (upstream v0.9.0: cluster-scoped, status subresource, columns DESIRED/PULLING/SUCCEED/FAILED/AGE). */
import { AGE_COLUMN, kruiseCrd } from './crd-constants.js';
import type { CustomResourceDefinition } from './crd-types.js';
import { envelope, objectReference } from './common-schemas.js';
import { arr, dateTime, enumStr, int32, int64, map, obj, str } from './schema-builders.js';

export const nodeImageSchema = envelope(
  obj({
    images: map(obj({
      pullSecrets: arr(obj({ name: str(), namespace: str() })),
      tags: arr(obj({
        createdAt: dateTime(),
        imagePullPolicy: enumStr(['Always', 'IfNotPresent'], { description: 'Always pulls even when the node has the image (moving tags); absent means IfNotPresent.' }),
        ownerReferences: arr(objectReference(), { description: 'The ImagePullJobs that want this tag.' }),
        pullPolicy: obj({
          activeDeadlineSeconds: int64(),
          backoffLimit: int32(),
          timeoutSeconds: int32(),
          ttlSecondsAfterFinished: int32(),
        }),
        tag: str({ description: 'A tag or a digest (sha256:…).' }),
        version: int64({ description: 'Bumped to request another pull round.' }),
      }, ['tag'])),
    }, ['tags']), { description: 'Images wanted on this node, by familiar repository name.' }),
  }),
  obj({
    desired: int32(),
    failed: int32(),
    firstSyncStatus: obj({ message: str(), status: str(), syncAt: dateTime() }),
    imageStatuses: map(obj({
      tags: arr(obj({
        completionTime: dateTime(),
        imageID: str(),
        message: str(),
        phase: str({ description: 'Waiting, Pulling, Succeeded or Failed.' }),
        progress: int32(),
        startTime: dateTime(),
        tag: str(),
        version: int64(),
      }, ['phase', 'tag'])),
    }, ['tags'])),
    pulling: int32(),
    succeeded: int32(),
  }, ['desired']),
  'NodeImage lists the images wanted on one node (same name as the Node) and their pull status.',
);

export const nodeImageCrd: CustomResourceDefinition = kruiseCrd('NodeImage', nodeImageSchema, [
  { name: 'DESIRED', type: 'integer', jsonPath: '.status.desired', description: 'Number of all images on this node' },
  { name: 'PULLING', type: 'integer', jsonPath: '.status.pulling', description: 'Number of image pull task active' },
  { name: 'SUCCEED', type: 'integer', jsonPath: '.status.succeeded', description: 'Number of image pull task succeeded' },
  { name: 'FAILED', type: 'integer', jsonPath: '.status.failed', description: 'Number of image pull tasks failed' },
  AGE_COLUMN,
]);

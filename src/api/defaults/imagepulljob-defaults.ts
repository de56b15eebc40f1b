/**
 * ImagePullJob defaults of the mutating webhook (upstream `SetDefaultsImagePullJob`, spec §4.2), plus our
 * `imagePullPolicy: IfNotPresent` (as upstream main defaults it). `parallelism` is deliberately NOT defaulted here:
 * the controller treats nil as 1. Pure: returns a copy.
 */
import type { ImagePullJob } from '../imagepulljob-types.js';

export const DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS = 600;
export const DEFAULT_IMAGE_PULL_BACKOFF_LIMIT = 3;

export function defaultImagePullJob(input: ImagePullJob): ImagePullJob {
  const job = structuredClone(input);
  const spec = job.spec;
  const completion = (spec.completionPolicy ??= {});
  if (!completion.type) completion.type = 'Always';
  const pull = (spec.pullPolicy ??= {});
  pull.timeoutSeconds ??= DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS;
  pull.backoffLimit ??= DEFAULT_IMAGE_PULL_BACKOFF_LIMIT;
  if (!spec.imagePullPolicy) spec.imagePullPolicy = 'IfNotPresent';
  return job;
}

/** Builders for the ImagePullJob/NodeImage planner tests. */
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import type { ImageTagSpec, ImageTagStatus, NodeImage } from '../../../../src/api/nodeimage-types.js';

export const T0 = Date.parse('2024-05-01T00:00:00Z');
export const at = (seconds: number): number => T0 + seconds * 1000;
export const iso = (seconds: number): string => new Date(at(seconds)).toISOString().replace('.000Z', 'Z');

export function makeJob(spec: Partial<ImagePullJob['spec']> = {}, status?: ImagePullJob['status'], uid = 'job-uid'): ImagePullJob {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob',
    metadata: { name: 'warm', namespace: 'default', uid },
    spec: { image: 'nginx:1.9.1', ...spec },
    ...(status ? { status } : {}),
  };
}

export const owner = (uid = 'job-uid', name = 'warm'): NonNullable<ImageTagSpec['ownerReferences']>[number] => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', name, namespace: 'default', uid,
});

/** A NodeImage with nginx tags and statuses. */
export function makeNodeImage(name: string, tags: ImageTagSpec[] = [], statuses?: ImageTagStatus[], labels: Record<string, string> = {}): NodeImage {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name, labels, resourceVersion: '1' },
    spec: tags.length > 0 ? { images: { nginx: { tags } } } : {},
    ...(statuses ? {
      status: {
        desired: tags.length,
        succeeded: statuses.filter((s) => s.phase === 'Succeeded').length,
        failed: statuses.filter((s) => s.phase === 'Failed').length,
        pulling: statuses.filter((s) => s.phase !== 'Succeeded' && s.phase !== 'Failed').length,
        imageStatuses: { nginx: { tags: statuses } },
      },
    } : {}),
  };
}

/** A NodeImage in the given state for the job `job-uid` (tag 1.9.1, version 0). */
export function nodeIn(name: string, state: 'notSynced' | 'pulling' | 'succeeded' | 'failed' | 'noStatus', uid = 'job-uid'): NodeImage {
  if (state === 'notSynced') return makeNodeImage(name);
  const tag: ImageTagSpec = {
    tag: '1.9.1', version: 0, createdAt: iso(0), ownerReferences: [owner(uid)],
    pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 2100 },
  };
  if (state === 'noStatus') return makeNodeImage(name, [tag]);
  const phase = state === 'pulling' ? 'Pulling' : state === 'succeeded' ? 'Succeeded' : 'Failed';
  return makeNodeImage(name, [tag], [{
    tag: '1.9.1', phase, version: 0, startTime: iso(1), ...(state !== 'pulling' ? { completionTime: iso(5) } : {}),
  }]);
}

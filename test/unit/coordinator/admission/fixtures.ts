/** Valid objects of our four kinds (the deploy/samples shapes), for the webhook tests to vary. */
import type { CloneSet, ImagePullJob, NodeImage, SidecarSet } from '../../../../src/api/index.js';

export function cloneSet(spec: Partial<CloneSet['spec']> = {}, meta: Partial<CloneSet['metadata']> = {}): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name: 'sample', namespace: 'default', uid: 'cs-uid', ...meta },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: 'sample' } },
      template: { metadata: { labels: { app: 'sample' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:alpine' }] } },
      ...spec,
    },
  } as CloneSet;
}

export function imagePullJob(spec: Partial<ImagePullJob['spec']> = {}): ImagePullJob {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'warm-nginx', namespace: 'default' },
    spec: { image: 'nginx:1.9.1', parallelism: 2, ...spec },
  } as ImagePullJob;
}

export function nodeImage(images: NodeImage['spec']['images'] = { nginx: { tags: [{ tag: '1.9.1', version: 0, pullPolicy: { ttlSecondsAfterFinished: 600 } }] } }): NodeImage {
  return { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'node-1' }, spec: { images } } as NodeImage;
}

export function sidecarSet(name = 'log-agent', spec: Partial<SidecarSet['spec']> = {}): SidecarSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name },
    spec: {
      selector: { matchLabels: { app: 'sample' } },
      containers: [{ name: 'log-agent', image: 'example.com/log-agent:1.0', volumeMounts: [{ name: 'log-volume', mountPath: '/var/log' }] }],
      volumes: [{ name: 'log-volume', emptyDir: {} }],
      ...spec,
    },
  } as SidecarSet;
}

/** Builders for the SidecarSet unit tests, shaped after upstream's test fixtures (spec §7.6). */
import type { Container, ContainerStatus, Pod } from '../../../../src/api/pod-types.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';

export const T0 = Date.parse('2021-05-19T10:00:00Z');
export const iso = (sec: number): string => new Date(T0 + sec * 1000).toISOString().replace('.000Z', 'Z');

export const IMAGE_ID_V1 = 'docker-pullable://test-image@sha256:a9286defaba7b3a519d585ba0e37d0b2cbee74ebfe590960b0b1d6a5e97d1e1d';
export const IMAGE_ID_V2 = 'docker-pullable://test-image@sha256:f7988fb6c02e0ce69257d9bd9cf37ae20a60f1df7563c3a2a6abe24160306b8d';
export const NGINX_ID = 'docker-pullable://nginx@sha256:a9286defaba7b3a519d585ba0e37d0b2cbee74ebfe590960b0b1d6a5e97d1e1d';

export function makeSet(overrides: Partial<SidecarSet['spec']> = {}, annotations: Record<string, string> = {}, name = 'test-sidecarset'): SidecarSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1',
    kind: 'SidecarSet',
    metadata: { name, annotations: { 'kruise.io/sidecarset-hash': 'bbb', 'kruise.io/sidecarset-hash-without-image': 'without-aaa', ...annotations } },
    spec: {
      selector: { matchLabels: { app: 'sidecar' } },
      containers: [{ name: 'test-sidecar', image: 'test-image:v2' }],
      updateStrategy: {},
      ...overrides,
    },
  };
}

export function status(name: string, image: string, imageID: string, ready = true): ContainerStatus {
  return { name, image, imageID, ready, restartCount: 0 };
}

/** Upstream `factoryPodsCommon`: a Running+Ready Pod on sidecar v1 carrying hash `aaa`. */
export function makePod(name: string, createdSec = 0, extra: { containers?: Container[]; statuses?: ContainerStatus[]; annotations?: Record<string, string>; labels?: Record<string, string> } = {}): Pod {
  return {
    metadata: {
      name, namespace: 'default', creationTimestamp: iso(createdSec),
      labels: extra.labels ?? { app: 'sidecar' },
      annotations: extra.annotations ?? {
        'kruise.io/sidecarset-hash': '{"test-sidecarset":{"hash":"aaa"}}',
        'kruise.io/sidecarset-hash-without-image': '{"test-sidecarset":{"hash":"without-aaa"}}',
      },
    },
    spec: {
      nodeName: 'node-1',
      containers: extra.containers ?? [{ name: 'nginx', image: 'nginx:1.15.1' }, { name: 'test-sidecar', image: 'test-image:v1' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: extra.statuses ?? [status('nginx', 'nginx:1.15.1', NGINX_ID), status('test-sidecar', 'test-image:v1', IMAGE_ID_V1)],
    },
  };
}

export function setReady(pod: Pod, ready: boolean): void {
  pod.status!.conditions = [{ type: 'Ready', status: ready ? 'True' : 'False' }];
}

export const container = (pod: Pod, name: string): Container | undefined => pod.spec.containers.find((c) => c.name === name);

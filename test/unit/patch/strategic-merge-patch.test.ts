import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import {
  applyStrategicMergePatch, strategicMergeNotSupported, supportsStrategicMerge,
} from '../../../src/sandbox/apiserver/patch/strategic-merge-patch.js';
import {
  hasStrategicMergeMetadata, patchMetaFor, STRATEGIC_MERGE_METADATA,
} from '../../../src/sandbox/apiserver/patch/strategic-merge-metadata.js';

type Json = Record<string, unknown>;

const deployment = (): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web', namespace: 'default', labels: { app: 'web', tier: 'fe' }, finalizers: ['a', 'b', 'c'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o1', uid: 'u1' }],
  },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'app:v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'sidecar', image: 'proxy:v1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'conf', configMap: { name: 'c' } }],
        tolerations: [{ key: 'k1', operator: 'Exists' }, { key: 'k2', operator: 'Exists' }],
      },
    },
  },
  status: {
    conditions: [
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' },
      { type: 'Progressing', status: 'True' },
    ],
  },
});

/** Reads a dotted path with numeric list indexes. */
function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (cur as Record<string, unknown> | undefined)?.[k], obj);
}

/** Every key in the tree, to prove no directive reached the result. */
function allKeys(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => allKeys(x, out));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      allKeys(x, out);
    }
  }
  return out;
}

interface Case {
  name: string;
  kind?: string;
  original?: () => Json;
  patch: Json;
  /** Dotted path → expected value in the result. */
  want: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'the kubectl apply shape changes one image and keeps the order, env and other containers',
    patch: {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { template: { spec: {
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
        containers: [{ name: 'app', image: 'app:v2' }],
      } } },
    },
    want: {
      'spec.template.spec.containers': [
        { name: 'app', image: 'app:v2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] },
        { name: 'sidecar', image: 'proxy:v1' },
      ],
      'metadata.annotations': { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      'spec.replicas': 2,
    },
  },
  {
    name: '$setElementOrder places a new container where the applied manifest has it',
    patch: { spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'init' }, { name: 'app' }, { name: 'sidecar' }],
      containers: [{ name: 'init', image: 'init:v1' }],
    } } } },
    want: { 'spec.template.spec.containers.0.name': 'init', 'spec.template.spec.containers.1.name': 'app', 'spec.template.spec.containers.2.name': 'sidecar' },
  },
  {
    name: '$setElementOrder reorders a list the patch does not otherwise touch',
    patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }] } } } },
    want: { 'spec.template.spec.containers.0.name': 'sidecar', 'spec.template.spec.containers.1.image': 'app:v1' },
  },
  {
    name: 'a new container without $setElementOrder is appended',
    patch: { spec: { template: { spec: { containers: [{ name: 'extra', image: 'x:1' }] } } } },
    want: { 'spec.template.spec.containers.2': { name: 'extra', image: 'x:1' }, 'spec.template.spec.containers.0.name': 'app' },
  },
  {
    name: '$patch: delete removes a container by merge key',
    patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } },
    want: { 'spec.template.spec.containers.length': 1, 'spec.template.spec.containers.0.name': 'app' },
  },
  {
    name: 'kubectl apply deleting a container sends $setElementOrder without it and a delete element',
    patch: { spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'app' }],
      containers: [{ name: 'sidecar', $patch: 'delete' }],
    } } } },
    want: { 'spec.template.spec.containers.length': 1, 'spec.template.spec.containers.0.image': 'app:v1' },
  },
  {
    name: '$patch: replace in a list replaces the whole list',
    patch: { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'only:v1' }] } } } },
    want: { 'spec.template.spec.containers': [{ name: 'only', image: 'only:v1' }] },
  },
  {
    name: '$patch: replace on a map replaces the map',
    patch: { spec: { template: { metadata: { labels: { $patch: 'replace', fresh: 'yes' } } } } },
    want: { 'spec.template.metadata.labels': { fresh: 'yes' } },
  },
  {
    name: '$patch: delete on a map removes it',
    patch: { spec: { strategy: { $patch: 'delete' } } },
    want: { 'spec.strategy': undefined, 'spec.replicas': 2 },
  },
  {
    name: '$patch: merge on a map merges as usual',
    patch: { metadata: { labels: { $patch: 'merge', extra: 'x' } } },
    want: { 'metadata.labels': { app: 'web', tier: 'fe', extra: 'x' } },
  },
  {
    name: '$retainKeys drops the strategy fields the new type does not use',
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    want: { 'spec.strategy': { type: 'Recreate' } },
  },
  {
    name: '$retainKeys in a merged volume switches its source',
    patch: { spec: { template: { spec: {
      '$setElementOrder/volumes': [{ name: 'data' }, { name: 'conf' }],
      volumes: [{ name: 'data', $retainKeys: ['hostPath', 'name'], hostPath: { path: '/srv' } }],
    } } } },
    want: { 'spec.template.spec.volumes': [{ name: 'data', hostPath: { path: '/srv' } }, { name: 'conf', configMap: { name: 'c' } }] },
  },
  {
    name: '$deleteFromPrimitiveList removes finalizers while others are added',
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['d'] } },
    want: { 'metadata.finalizers': ['a', 'c', 'd'] },
  },
  {
    name: 'finalizers merge as a de-duplicated union (patchStrategy merge upstream)',
    patch: { metadata: { finalizers: ['c', 'z'] } },
    want: { 'metadata.finalizers': ['a', 'b', 'c', 'z'] },
  },
  {
    name: '$setElementOrder orders a primitive list',
    patch: { metadata: { '$setElementOrder/finalizers': ['z', 'c', 'b', 'a'], finalizers: ['z'] } },
    want: { 'metadata.finalizers': ['z', 'c', 'b', 'a'] },
  },
  {
    name: 'null deletes a label and leaves the others',
    patch: { metadata: { labels: { tier: null, missing: null } } },
    want: { 'metadata.labels': { app: 'web' } },
  },
  {
    name: 'null deletes a whole field',
    patch: { spec: { template: { spec: { tolerations: null } } } },
    want: { 'spec.template.spec.tolerations': undefined },
  },
  {
    name: 'status.conditions merge by type, keeping order and untouched conditions',
    patch: { status: { conditions: [{ type: 'Available', status: 'True', reason: null }, { type: 'ReplicaFailure', status: 'False' }] } },
    want: { 'status.conditions': [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }, { type: 'ReplicaFailure', status: 'False' }] },
  },
  {
    name: 'env merges by name inside a merged container',
    patch: { spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] } } } },
    want: { 'spec.template.spec.containers.0.env': [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }] },
  },
  {
    name: 'ports merge by containerPort',
    patch: { spec: { template: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }] }] } } } },
    want: { 'spec.template.spec.containers.0.ports': [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 443 }] },
  },
  {
    name: 'tolerations are atomic and replaced whole (no patch strategy upstream)',
    patch: { spec: { template: { spec: { tolerations: [{ key: 'k3', operator: 'Exists' }] } } } },
    want: { 'spec.template.spec.tolerations': [{ key: 'k3', operator: 'Exists' }] },
  },
  {
    name: 'ownerReferences merge by uid, and elements named by the patch take the patch order',
    patch: { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Y', name: 'o2', uid: 'u2' }, { uid: 'u1', controller: true }] } },
    want: { 'metadata.ownerReferences': [{ apiVersion: 'v1', kind: 'Y', name: 'o2', uid: 'u2' }, { apiVersion: 'v1', kind: 'X', name: 'o1', uid: 'u1', controller: true }] },
  },
  {
    name: 'a new container has its nulls and directives cleaned',
    patch: { spec: { template: { spec: { containers: [{
      name: 'new', image: 'n:1', args: null,
      env: [{ name: 'X', value: '1' }, { name: 'Y', $patch: 'delete' }],
      resources: { $patch: 'replace', limits: { cpu: '1' } },
    }] } } } },
    want: { 'spec.template.spec.containers.2': { name: 'new', image: 'n:1', env: [{ name: 'X', value: '1' }], resources: { limits: { cpu: '1' } } } },
  },
  {
    name: 'a merge list missing from the original is taken from the patch',
    patch: { spec: { template: { spec: { initContainers: [{ $patch: 'replace' }, { name: 'i', image: 'i:1' }] } } } },
    want: { 'spec.template.spec.initContainers': [{ name: 'i', image: 'i:1' }] },
  },
  {
    name: 'a value of another type replaces the original',
    patch: { spec: { template: { spec: { volumes: { oops: true } } } } },
    want: { 'spec.template.spec.volumes': { oops: true } },
  },
  {
    name: 'a top-level $patch: replace replaces the object',
    patch: { $patch: 'replace', kind: 'Deployment', metadata: { name: 'web' } },
    want: { kind: 'Deployment', 'metadata.name': 'web', spec: undefined },
  },
  {
    name: 'Pod containers merge by name at spec.containers',
    kind: 'Pod',
    original: () => ({ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] }, status: { containerStatuses: [{ name: 'a', ready: true }, { name: 'b', ready: true }] } }),
    patch: { spec: { containers: [{ name: 'b', image: 'b:2' }] }, status: { containerStatuses: [{ name: 'a', ready: false }] } },
    want: {
      'spec.containers': [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }],
      // containerStatuses carry no patch strategy upstream: atomic.
      'status.containerStatuses': [{ name: 'a', ready: false }],
    },
  },
  {
    name: 'Pod status.podIPs merge by ip',
    kind: 'Pod',
    original: () => ({ kind: 'Pod', metadata: { name: 'p' }, status: { podIPs: [{ ip: '10.0.0.1' }] } }),
    patch: { status: { podIPs: [{ ip: 'fd00::1' }] } },
    want: { 'status.podIPs': [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
  },
  {
    name: 'Node addresses and conditions merge by type',
    kind: 'Node',
    original: () => ({ kind: 'Node', metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n' }], conditions: [{ type: 'Ready', status: 'True' }] } }),
    patch: { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }], conditions: [{ type: 'Ready', status: 'False' }, { type: 'DiskPressure', status: 'False' }] } },
    want: {
      'status.addresses': [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n' }],
      'status.conditions': [{ type: 'Ready', status: 'False' }, { type: 'DiskPressure', status: 'False' }],
    },
  },
  {
    name: 'Service ports merge by port',
    kind: 'Service',
    original: () => ({ kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] } }),
    patch: { spec: { ports: [{ port: 443, targetPort: 9443 }] } },
    want: { 'spec.ports': [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 9443 }] },
  },
  {
    name: 'webhooks merge by name',
    kind: 'ValidatingWebhookConfiguration',
    original: () => ({ kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' }, webhooks: [{ name: 'a.x.io', failurePolicy: 'Fail' }, { name: 'b.x.io', failurePolicy: 'Fail' }] }),
    patch: { webhooks: [{ name: 'b.x.io', failurePolicy: 'Ignore' }] },
    want: { webhooks: [{ name: 'a.x.io', failurePolicy: 'Fail' }, { name: 'b.x.io', failurePolicy: 'Ignore' }] },
  },
  {
    name: 'StatefulSet template containers merge by name',
    kind: 'StatefulSet',
    original: () => ({ kind: 'StatefulSet', metadata: { name: 'ss' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1', volumeMounts: [{ mountPath: '/d', name: 'd' }] }] } } } }),
    patch: { spec: { template: { spec: { containers: [{ name: 'a', volumeMounts: [{ mountPath: '/e', name: 'e' }] }] } } } },
    want: { 'spec.template.spec.containers.0.volumeMounts': [{ mountPath: '/d', name: 'd' }, { mountPath: '/e', name: 'e' }] },
  },
  {
    name: 'an unknown kind falls back to ObjectMeta rules: other lists are replaced, finalizers still merge',
    kind: 'Widget',
    original: () => ({ kind: 'Widget', metadata: { name: 'w', finalizers: ['a'] }, spec: { items: [{ name: 'x', v: 1 }] } }),
    patch: { metadata: { finalizers: ['b'] }, spec: { items: [{ name: 'y' }] } },
    want: { 'metadata.finalizers': ['a', 'b'], 'spec.items': [{ name: 'y' }] },
  },
];

describe('applyStrategicMergePatch', () => {
  for (const c of cases) {
    it(`should patch: ${c.name}`, () => {
      const makeOriginal = c.original ?? deployment;
      const original = makeOriginal();
      const patch = structuredClone(c.patch);
      const got = applyStrategicMergePatch(original, patch, c.kind ?? 'Deployment');
      for (const [path, want] of Object.entries(c.want)) assert.deepEqual(at(got, path), want, path);
      assert.deepEqual(original, makeOriginal(), 'the original must not change');
      assert.deepEqual(patch, c.patch, 'the patch must not change');
      const leaked = allKeys(got).filter((k) => k.startsWith('$'));
      assert.deepEqual(leaked, [], 'no directive may reach the result');
    });
  }

  it('should share no objects with the patch', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'n', image: 'n', args: ['x'] }] } } } };
    const got = applyStrategicMergePatch(deployment(), patch, 'Deployment');
    (at(got, 'spec.template.spec.containers.2.args') as string[]).push('y');
    assert.deepEqual(patch.spec.template.spec.containers[0]!.args, ['x']);
  });

  const errorCases: { name: string; patch: unknown; message: string }[] = [
    { name: 'a patch that is not an object', patch: [], message: 'strategic merge patch must be a JSON object' },
    { name: 'an unknown $patch on a map', patch: { metadata: { labels: { $patch: 'purge' } } }, message: 'unknown patch type: "purge" in map: {"$patch":"purge"}' },
    { name: 'an unknown $patch in a list', patch: { spec: { template: { spec: { containers: [{ name: 'app', $patch: 'purge' }] } } } }, message: 'unknown patch type: "purge" in map: {"name":"app","$patch":"purge"}' },
    { name: 'a delete element without the merge key', patch: { spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } } }, message: 'map: {"$patch":"delete"} does not contain declared merge key: name' },
    { name: 'a merge element without the merge key', patch: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, message: 'map: {"image":"x"} does not contain declared merge key: name' },
    { name: '$retainKeys that is not a list', patch: { spec: { strategy: { $retainKeys: 'type' } } }, message: 'invalid patch format of retainKeys' },
    { name: '$retainKeys missing a key the patch sets', patch: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, message: 'invalid patch format of retainKeys' },
    { name: '$setElementOrder that is not a list', patch: { metadata: { '$setElementOrder/finalizers': 'a' } }, message: 'invalid patch format of setElementOrder list' },
    { name: '$deleteFromPrimitiveList that is not a list', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }, message: 'invalid patch format of primitive list' },
    { name: 'objects in a merge list without a merge key', patch: { metadata: { finalizers: [{ a: 1 }] } }, message: 'cannot merge lists without merge key for metadata.finalizers' },
  ];
  for (const c of errorCases) {
    it(`should refuse with 400 BadRequest: ${c.name}`, () => {
      const original = deployment();
      assert.throws(() => applyStrategicMergePatch(original, c.patch, 'Deployment'), (err: unknown) => {
        assert.ok(ApiError.is(err));
        assert.equal(err.code, 400);
        assert.equal(err.reason, 'BadRequest');
        assert.equal(err.message, c.message);
        return true;
      });
      assert.deepEqual(original, deployment());
    });
  }
});

describe('strategic merge support and metadata', () => {
  it('should support built-in kinds and refuse custom resources with 415', () => {
    assert.equal(supportsStrategicMerge('Deployment', true), true);
    assert.equal(supportsStrategicMerge('HorizontalPodAutoscaler', true), true);
    assert.equal(supportsStrategicMerge('CloneSet', false), false);
    const err = strategicMergeNotSupported();
    assert.equal(err.code, 415);
    assert.equal(err.reason, 'UnsupportedMediaType');
  });

  it('should hold an entry for every kind the sandbox serves', () => {
    for (const kind of ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Node', 'Service', 'ConfigMap', 'Secret', 'Namespace', 'Event',
      'ServiceAccount', 'PersistentVolumeClaim', 'ControllerRevision', 'Lease', 'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration', 'CustomResourceDefinition']) {
      assert.equal(hasStrategicMergeMetadata(kind), true, kind);
      assert.deepEqual(patchMetaFor(kind)['metadata.ownerReferences'], { patchStrategy: 'merge', patchMergeKey: 'uid' }, kind);
    }
    assert.equal(hasStrategicMergeMetadata('Widget'), false);
  });

  it('should transcribe the upstream tags of the workload pod templates', () => {
    for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet']) {
      const meta = STRATEGIC_MERGE_METADATA[kind]!;
      assert.deepEqual(meta['spec.template.spec.containers'], { patchStrategy: 'merge', patchMergeKey: 'name' });
      assert.deepEqual(meta['spec.template.spec.volumes'], { patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' });
      assert.deepEqual(meta['spec.template.spec.containers.env'], { patchStrategy: 'merge', patchMergeKey: 'name' });
      assert.deepEqual(meta['spec.template.spec.containers.ports'], { patchStrategy: 'merge', patchMergeKey: 'containerPort' });
      assert.deepEqual(meta['spec.template.spec.containers.volumeMounts'], { patchStrategy: 'merge', patchMergeKey: 'mountPath' });
      assert.deepEqual(meta['spec.template.spec.imagePullSecrets'], { patchStrategy: 'merge', patchMergeKey: 'name' });
      assert.equal(meta['spec.template.spec.tolerations'], undefined);
      assert.deepEqual(meta['status.conditions'], { patchStrategy: 'merge', patchMergeKey: 'type' });
    }
    assert.equal(STRATEGIC_MERGE_METADATA['Pod']!['status.containerStatuses'], undefined);
  });
});

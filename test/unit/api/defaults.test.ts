import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultCloneSet, defaultImagePullJob, defaultNodeImage, defaultSidecarSet,
  type CloneSet, type ImagePullJob, type NodeImage, type SidecarSet,
} from '../../../src/api/index.js';

const NOW = '2024-01-01T00:00:00Z';

function cloneSet(spec: Partial<CloneSet['spec']> = {}): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: 'demo', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'demo' } },
      template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } },
      ...spec,
    },
  };
}

test('a CloneSet gets replicas 1, revisionHistoryLimit 10, ReCreate, partition 0, maxUnavailable "20%", maxSurge 0', () => {
  const d = defaultCloneSet(cloneSet());
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.deepEqual(d.spec.updateStrategy, { type: 'ReCreate', partition: 0, maxUnavailable: '20%', maxSurge: 0 });
});

test('CloneSet defaulting keeps values that are set, including zero', () => {
  const d = defaultCloneSet(cloneSet({
    replicas: 0, revisionHistoryLimit: 0,
    updateStrategy: { type: 'InPlaceOnly', partition: '50%', maxUnavailable: 0, maxSurge: 1, inPlaceUpdateStrategy: { gracePeriodSeconds: 5 } },
  }));
  assert.equal(d.spec.replicas, 0);
  assert.equal(d.spec.revisionHistoryLimit, 0);
  assert.deepEqual(d.spec.updateStrategy, { type: 'InPlaceOnly', partition: '50%', maxUnavailable: 0, maxSurge: 1, inPlaceUpdateStrategy: { gracePeriodSeconds: 5 } });
});

for (const type of ['InPlaceIfPossible', 'InPlaceOnly'] as const) {
  test(`the in-place type ${type} also gets an empty inPlaceUpdateStrategy`, () => {
    assert.deepEqual(defaultCloneSet(cloneSet({ updateStrategy: { type } })).spec.updateStrategy?.inPlaceUpdateStrategy, {});
  });
}

test('ReCreate gets no inPlaceUpdateStrategy', () => {
  assert.equal(defaultCloneSet(cloneSet({ updateStrategy: { type: 'ReCreate' } })).spec.updateStrategy?.inPlaceUpdateStrategy, undefined);
});

test('the CloneSet pod template gets Kubernetes defaults, and app containers pull Always', () => {
  const d = defaultCloneSet(cloneSet({
    template: {
      metadata: { labels: { app: 'demo' } },
      spec: {
        initContainers: [{ name: 'init', image: 'busybox:1.36' }],
        containers: [{
          name: 'main', image: 'nginx:1.25', ports: [{ containerPort: 80 }],
          env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          readinessProbe: { httpGet: { port: 80 } },
          lifecycle: { postStart: { httpGet: { port: 80 } } },
        }],
        volumes: [{ name: 'a' }, { name: 'b', secret: { secretName: 's' } }, { name: 'c', configMap: { name: 'c' } }],
      },
    },
  }));
  const spec = d.spec.template.spec;
  assert.equal(spec.restartPolicy, 'Always');
  assert.equal(spec.dnsPolicy, 'ClusterFirst');
  assert.equal(spec.terminationGracePeriodSeconds, 30);
  assert.equal(spec.schedulerName, 'default-scheduler');
  assert.deepEqual(spec.securityContext, {});
  const main = spec.containers[0]!;
  assert.equal(main.imagePullPolicy, 'Always');
  assert.equal(main.terminationMessagePath, '/dev/termination-log');
  assert.equal(main.terminationMessagePolicy, 'File');
  assert.equal(main.ports![0]!.protocol, 'TCP');
  assert.equal(main.env![0]!.valueFrom!.fieldRef!.apiVersion, 'v1');
  assert.deepEqual(main.readinessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(main.lifecycle!.postStart, { httpGet: { port: 80, path: '/', scheme: 'HTTP' } });
  assert.equal(spec.initContainers![0]!.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(spec.volumes, [
    { name: 'a', emptyDir: {} }, { name: 'b', secret: { secretName: 's', defaultMode: 420 } },
    { name: 'c', configMap: { name: 'c', defaultMode: 420 } },
  ]);
});

test('plain Kubernetes pull policy: latest or no tag pulls Always, a tag or digest IfNotPresent', () => {
  const set = defaultSidecarSet({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 's' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      containers: [
        { name: 'a', image: 'nginx' }, { name: 'b', image: 'nginx:latest' }, { name: 'c', image: 'nginx:1.25' },
        { name: 'd', image: 'registry:5000/nginx' }, { name: 'e', image: 'nginx@sha256:' + '0'.repeat(64) },
      ],
    },
  });
  assert.deepEqual(set.spec.containers!.map((c) => c.imagePullPolicy), ['Always', 'Always', 'IfNotPresent', 'Always', 'IfNotPresent']);
});

test('defaulting returns a copy and leaves its input alone', () => {
  const input = cloneSet();
  const before = structuredClone(input);
  const out = defaultCloneSet(input);
  assert.deepEqual(input, before);
  assert.notEqual(out, input);
});

function job(spec: Partial<ImagePullJob['spec']> = {}): ImagePullJob {
  return { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'j', namespace: 'default' }, spec: { image: 'nginx:1.9.1', ...spec } };
}

test('an ImagePullJob gets timeoutSeconds 600, backoffLimit 3, completionPolicy Always, imagePullPolicy IfNotPresent, and no parallelism', () => {
  const d = defaultImagePullJob(job());
  assert.deepEqual(d.spec.pullPolicy, { timeoutSeconds: 600, backoffLimit: 3 });
  assert.deepEqual(d.spec.completionPolicy, { type: 'Always' });
  assert.equal(d.spec.imagePullPolicy, 'IfNotPresent');
  assert.equal('parallelism' in d.spec, false);
});

test('ImagePullJob defaulting keeps set values', () => {
  const d = defaultImagePullJob(job({
    pullPolicy: { timeoutSeconds: 50, backoffLimit: 0 }, completionPolicy: { type: 'Never' }, imagePullPolicy: 'Always', parallelism: '50%',
  }));
  assert.deepEqual(d.spec.pullPolicy, { timeoutSeconds: 50, backoffLimit: 0 });
  assert.deepEqual(d.spec.completionPolicy, { type: 'Never' });
  assert.equal(d.spec.imagePullPolicy, 'Always');
  assert.equal(d.spec.parallelism, '50%');
});

test('NodeImage tags get createdAt = now, pull-policy defaults, and are sorted in spec and status', () => {
  const input: NodeImage = {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'node-1' },
    spec: { images: { nginx: { tags: [
      { tag: 'b', pullPolicy: { ttlSecondsAfterFinished: 10 } },
      { tag: 'a', createdAt: '2020-01-01T00:00:00Z', pullPolicy: { timeoutSeconds: 5, backoffLimit: 1, ttlSecondsAfterFinished: 10 } },
      { tag: 'c' },
    ] } } },
    status: { desired: 2, succeeded: 0, failed: 0, pulling: 2, imageStatuses: { nginx: { tags: [{ tag: 'b', phase: 'Pulling' }, { tag: 'a', phase: 'Pulling' }] } } },
  };
  const d = defaultNodeImage(input, NOW);
  assert.deepEqual(d.spec.images!['nginx']!.tags, [
    { tag: 'a', createdAt: '2020-01-01T00:00:00Z', pullPolicy: { timeoutSeconds: 5, backoffLimit: 1, ttlSecondsAfterFinished: 10 } },
    { tag: 'b', createdAt: NOW, pullPolicy: { ttlSecondsAfterFinished: 10, timeoutSeconds: 600, backoffLimit: 3 } },
    { tag: 'c', createdAt: NOW, pullPolicy: { timeoutSeconds: 600, backoffLimit: 3 } },
  ]);
  assert.deepEqual(d.status!.imageStatuses!['nginx']!.tags.map((t) => t.tag), ['a', 'b']);
});

test('a NodeImage without images is left as it is', () => {
  const input: NodeImage = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'n' }, spec: {} };
  assert.deepEqual(defaultNodeImage(input, NOW), input);
});

test('a SidecarSet gets RollingUpdate, maxUnavailable 1, partition 0 and per-container policies', () => {
  const input: SidecarSet = {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 's' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      containers: [{ name: 'side', image: 'busybox:1.36' }],
      volumes: [{ name: 'v' }],
    },
  };
  const d = defaultSidecarSet(input);
  assert.deepEqual(d.spec.updateStrategy, { type: 'RollingUpdate', maxUnavailable: 1, partition: 0 });
  const side = d.spec.containers![0]!;
  assert.equal(side.podInjectPolicy, 'BeforeAppContainer');
  assert.deepEqual(side.upgradeStrategy, { upgradeType: 'ColdUpgrade' });
  assert.deepEqual(side.shareVolumePolicy, { type: 'disabled' });
  assert.equal(side.imagePullPolicy, 'IfNotPresent');
  const init = d.spec.initContainers![0]!;
  assert.equal(init.podInjectPolicy, undefined, 'initContainers get only Kubernetes defaults, as upstream');
  assert.equal(init.terminationMessagePolicy, 'File');
  assert.deepEqual(d.spec.volumes, [{ name: 'v', emptyDir: {} }]);
});

test('SidecarSet defaulting keeps set values', () => {
  const d = defaultSidecarSet({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 's' },
    spec: {
      containers: [{ name: 'side', image: 'x:1', podInjectPolicy: 'AfterAppContainer', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'e:1' }, shareVolumePolicy: { type: 'enabled' } }],
      updateStrategy: { type: 'NotUpdate', maxUnavailable: '50%', partition: 2 },
    },
  });
  assert.deepEqual(d.spec.updateStrategy, { type: 'NotUpdate', maxUnavailable: '50%', partition: 2 });
  const c = d.spec.containers![0]!;
  assert.equal(c.podInjectPolicy, 'AfterAppContainer');
  assert.deepEqual(c.upgradeStrategy, { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'e:1' });
  assert.deepEqual(c.shareVolumePolicy, { type: 'enabled' });
});

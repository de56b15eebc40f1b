/**
 * §7.2 injection against upstream's webhook tests (sidecarset_test.go, sidecarset_hotupgrade_test.go, v0.9.0).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';
import {
  injectSidecars, matchingSidecarSets, mergeSidecarContainers,
} from '../../../../src/coordinator/sidecarset/injection.js';
import {
  parseSidecarSetHashAnnotation, podSidecarSetRevision, podSidecarSetRevisionWithoutImage, workingContainer,
} from '../../../../src/coordinator/sidecarset/pod-annotations.js';
import { T0 } from './fixtures.js';

const sidecarSet1 = (): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet',
  metadata: { name: 'sidecarset1', annotations: { 'kruise.io/sidecarset-hash': 'c4k2dbb95d' } },
  spec: {
    selector: { matchLabels: { app: 'suxing-test' } },
    initContainers: [{ name: 'init-2', image: 'busybox:1.0.0' }, { name: 'init-1', image: 'busybox:1.0.0' }],
    containers: [
      { name: 'dns-f', image: 'dns-f-image:1.0', podInjectPolicy: 'BeforeAppContainer', shareVolumePolicy: { type: 'disabled' } },
      { name: 'log-agent', image: 'log-agent-image:1.0', podInjectPolicy: 'AfterAppContainer', shareVolumePolicy: { type: 'disabled' } },
    ],
  },
});

const sidecarSetWithTransferEnv = (): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet',
  metadata: { name: 'sidecarset2', annotations: { 'kruise.io/sidecarset-hash': 'c4k2dbb95d' } },
  spec: {
    selector: { matchLabels: { app: 'suxing-test' } },
    containers: [{
      name: 'dns-f', image: 'dns-f-image:1.0', volumeMounts: [{ name: 'volume-1', mountPath: '' }],
      podInjectPolicy: 'BeforeAppContainer', shareVolumePolicy: { type: 'disabled' },
      transferEnv: [{ sourceContainerName: 'nginx', envName: 'hello2' }],
    }],
    volumes: [{ name: 'volume-1' }, { name: 'volume-2' }],
  },
});

const sidecarSet3 = (): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet',
  metadata: { name: 'sidecarset3', annotations: { 'kruise.io/sidecarset-hash': 'gm967682cm' } },
  spec: {
    selector: { matchLabels: { app: 'suxing-test' } },
    containers: [
      {
        name: 'dns-f', image: 'dns-f-image:1.0', podInjectPolicy: 'AfterAppContainer', shareVolumePolicy: { type: 'enabled' },
        volumeMounts: [{ name: 'volume-1', mountPath: '/a/b/c' }, { name: 'volume-2', mountPath: '/d/e/f' }, { name: 'volume-staragent', mountPath: '/staragent' }],
      },
    ],
    volumes: [{ name: 'volume-1' }, { name: 'volume-2' }, { name: 'volume-staragent' }],
  },
});

const pod1 = (): Pod => ({
  metadata: { name: 'test-pod', namespace: 'default', labels: { app: 'suxing-test' } },
  spec: {
    initContainers: [{ name: 'init-0', image: 'busybox:1.0.0' }],
    containers: [{
      name: 'nginx', image: 'nginx:1.15.1',
      env: [{ name: 'hello1', value: 'world1' }, { name: 'hello2', value: 'world2' }],
      volumeMounts: [{ name: 'volume-a', mountPath: '/a/b' }, { name: 'volume-b', mountPath: '/e/f' }],
    }],
    volumes: [{ name: 'volume-a' }, { name: 'volume-b' }],
  },
});

const names = (cs: { name: string }[] | undefined): string[] => (cs ?? []).map((c) => c.name);

describe('injectSidecars: matching (TestPodHasNoMatchedSidecarSet)', () => {
  it('should leave a Pod that no SidecarSet selects untouched', () => {
    const pod = pod1();
    pod.metadata.labels = { app: 'doesnt-match' };
    const r = injectSidecars(pod, [sidecarSet1()], 'default', T0);
    assert.equal(r.pod, pod);
    assert.deepEqual(r.injected, []);
  });
  it('should leave Pods in kube-system untouched', () => {
    const pod = pod1();
    pod.metadata.namespace = 'kube-system';
    assert.equal(injectSidecars(pod, [sidecarSet1()], 'kube-system', T0).pod, pod);
  });
  it('should take the request namespace for a Pod without one, so kube-public is ignored too', () => {
    const pod = pod1();
    delete pod.metadata.namespace;
    assert.equal(injectSidecars(pod, [sidecarSet1()], 'kube-public', T0).pod, pod);
  });
  it('should leave a Pod being deleted untouched', () => {
    const pod = pod1();
    pod.metadata.deletionTimestamp = '2021-05-19T10:00:00Z';
    assert.equal(injectSidecars(pod, [sidecarSet1()], 'default', T0).pod, pod);
  });
  it('should match on spec.namespace and a non-empty selector only', () => {
    const other = { ...sidecarSet1(), spec: { ...sidecarSet1().spec, namespace: 'other' } };
    const empty = { ...sidecarSet1(), spec: { ...sidecarSet1().spec, selector: {} } };
    const none = { ...sidecarSet1(), spec: { ...sidecarSet1().spec, selector: undefined } };
    assert.deepEqual(matchingSidecarSets(pod1(), [other, empty, none], 'default'), []);
    assert.equal(matchingSidecarSets(pod1(), [sidecarSet1()], 'default').length, 1);
  });
  it('should leave the Pod untouched when the matched sets have nothing to inject', () => {
    const set = { ...sidecarSet1(), spec: { selector: { matchLabels: { app: 'suxing-test' } } } };
    const pod = pod1();
    assert.equal(injectSidecars(pod, [set], 'default', T0).pod, pod);
  });
});

describe('injectSidecars: TestSidecarSetPodInjectPolicy', () => {
  const pod = pod1();
  const before = structuredClone(pod);
  const out = injectSidecars(pod, [sidecarSet1()], 'default', T0).pod;
  it('should put BeforeAppContainer sidecars first and AfterAppContainer ones last', () => {
    assert.deepEqual(names(out.spec.containers), ['dns-f', 'nginx', 'log-agent']);
  });
  it('should append init containers sorted by name, each with IS_INJECTED=true', () => {
    assert.deepEqual(names(out.spec.initContainers), ['init-0', 'init-1', 'init-2']);
    for (const c of out.spec.initContainers!.slice(1)) assert.deepEqual(c.env, [{ name: 'IS_INJECTED', value: 'true' }]);
  });
  it('should give injected containers IS_INJECTED=true and no Kruise-only fields', () => {
    const dns = out.spec.containers[0]!;
    assert.deepEqual(dns, { name: 'dns-f', image: 'dns-f-image:1.0', env: [{ name: 'IS_INJECTED', value: 'true' }] });
  });
  it('should not modify its input', () => {
    assert.deepEqual(pod, before);
  });
});

describe('injectSidecars: mergeSidecarContainers (TestMergeSidecarContainers)', () => {
  const c = (name: string) => ({ name });
  const s = (name: string, policy: string) => ({ container: c(name), policy });
  const injected = [s('sidecar-1', 'AfterAppContainer'), s('sidecar-2', 'AfterAppContainer'), s('new-sidecar-1', 'BeforeAppContainer')];
  const rows: { name: string; origins: string[]; injected: typeof injected; want: string[] }[] = [
    { name: 'origins not sidecar, and inject new sidecar', origins: ['app-container'], injected, want: ['new-sidecar-1', 'app-container', 'sidecar-1', 'sidecar-2'] },
    { name: 'only before app container', origins: ['app-container'], injected: injected.slice(2), want: ['new-sidecar-1', 'app-container'] },
    { name: 'only after app container', origins: ['app-container'], injected: injected.slice(0, 2), want: ['app-container', 'sidecar-1', 'sidecar-2'] },
    { name: 'origin have sidecars, sidecar no new containers', origins: ['sidecar-1', 'app-container', 'sidecar-2'], injected: injected.slice(0, 2), want: ['sidecar-1', 'app-container', 'sidecar-2'] },
    { name: 'origin have sidecars, sidecar have new containers', origins: ['sidecar-1', 'app-container', 'sidecar-2'], injected, want: ['new-sidecar-1', 'sidecar-1', 'app-container', 'sidecar-2'] },
  ];
  for (const row of rows) {
    it(`should order containers when ${row.name}`, () => {
      assert.deepEqual(names(mergeSidecarContainers(row.origins.map(c), row.injected)), row.want);
    });
  }
});

describe('injectSidecars: volumes, mounts and env', () => {
  it('should append only the volumes the sidecar mounts, after the Pod volumes (TestSidecarVolumesAppend)', () => {
    const out = injectSidecars(pod1(), [sidecarSetWithTransferEnv()], 'default', T0).pod;
    assert.deepEqual(names(out.spec.volumes), ['volume-a', 'volume-b', 'volume-1']);
  });
  it('should let the Pod volume win over a same-named SidecarSet volume', () => {
    const pod = pod1();
    pod.spec.volumes = [{ name: 'volume-1', emptyDir: {} }];
    const out = injectSidecars(pod, [sidecarSetWithTransferEnv()], 'default', T0).pod;
    assert.deepEqual(out.spec.volumes, [{ name: 'volume-1', emptyDir: {} }]);
  });
  it('should copy transferEnv after IS_INJECTED (TestSidecarSetTransferEnv)', () => {
    const out = injectSidecars(pod1(), [sidecarSetWithTransferEnv()], 'default', T0).pod;
    assert.deepEqual(out.spec.containers[0]!.env, [{ name: 'IS_INJECTED', value: 'true' }, { name: 'hello2', value: 'world2' }]);
  });
  it('should skip a transferEnv whose source does not exist', () => {
    const set = sidecarSetWithTransferEnv();
    set.spec.containers![0]!.transferEnv = [{ sourceContainerName: 'nginx', envName: 'missing' }];
    const out = injectSidecars(pod1(), [set], 'default', T0).pod;
    assert.deepEqual(out.spec.containers[0]!.env, [{ name: 'IS_INJECTED', value: 'true' }]);
  });

  // TestPodVolumeMountsAppend: the 4 subPathExpr cases; the sidecar's own mounts come first.
  const withMount = (subPathExpr: string, envs: { name: string; value: string }[] = []): Pod => {
    const pod = pod1();
    const app = pod.spec.containers[0]!;
    app.volumeMounts!.push({ name: 'volume-staragent', mountPath: '/staragent' }, { name: 'volume-expansion', mountPath: '/e/expansion', subPathExpr });
    app.env!.push(...envs);
    return pod;
  };
  const rows: { name: string; pod: Pod; mounts: string[]; envs: string[] }[] = [
    { name: 'append normal volumeMounts', pod: pod1(), mounts: ['/a/b/c', '/d/e/f', '/staragent', '/a/b', '/e/f'], envs: [] },
    {
      name: 'volumes with expanded subpath pull in the referenced env',
      pod: withMount('foo/$(POD_NAME)/$(OD_NAME)/conf', [{ name: 'POD_NAME', value: 'bar' }, { name: 'OD_NAME', value: 'od_name' }]),
      mounts: ['/a/b/c', '/d/e/f', '/staragent', '/a/b', '/e/f', '/e/expansion'], envs: ['POD_NAME', 'OD_NAME'],
    },
    { name: 'subpath with no expansion', pod: withMount('foo'), mounts: ['/a/b/c', '/d/e/f', '/staragent', '/a/b', '/e/f', '/e/expansion'], envs: [] },
    { name: 'empty subpath', pod: withMount(''), mounts: ['/a/b/c', '/d/e/f', '/staragent', '/a/b', '/e/f', '/e/expansion'], envs: [] },
  ];
  for (const row of rows) {
    it(`should share the app mounts when ${row.name}`, () => {
      const out = injectSidecars(row.pod, [sidecarSet3()], 'default', T0).pod;
      const sidecar = out.spec.containers[1]!;
      assert.equal(sidecar.name, 'dns-f');
      assert.deepEqual(sidecar.volumeMounts!.map((m) => m.mountPath), row.mounts);
      assert.deepEqual(sidecar.env!.map((e) => e.name), ['IS_INJECTED', ...row.envs]);
    });
  }
  it('should not share the mounts of containers that are injected sidecars themselves', () => {
    const pod = pod1();
    pod.spec.containers.push({ name: 'old-sidecar', image: 'x', env: [{ name: 'IS_INJECTED', value: 'true' }], volumeMounts: [{ name: 'v', mountPath: '/old' }] });
    const out = injectSidecars(pod, [sidecarSet3()], 'default', T0).pod;
    assert.ok(!out.spec.containers.find((c) => c.name === 'dns-f')!.volumeMounts!.some((m) => m.mountPath === '/old'));
  });
});

describe('injectSidecars: annotations', () => {
  it('should record the hash of every matched set and the injected list (TestSidecarSetHashInject, TestSidecarSetNameInject)', () => {
    const nonMatching = sidecarSet1();
    nonMatching.spec.selector = { matchLabels: { app: 'doesnt-match' } };
    const r = injectSidecars(pod1(), [nonMatching, sidecarSetWithTransferEnv(), sidecarSet3()], 'default', T0);
    assert.deepEqual(r.injected, ['sidecarset2', 'sidecarset3']);
    assert.equal(podSidecarSetRevision(r.pod, 'sidecarset2'), 'c4k2dbb95d');
    assert.equal(podSidecarSetRevision(r.pod, 'sidecarset3'), 'gm967682cm');
    assert.equal(r.pod.metadata.annotations!['kruise.io/sidecarset-injected-list'], 'sidecarset2,sidecarset3');
    const two = injectSidecars(pod1(), [sidecarSet1(), sidecarSet3()], 'default', T0).pod;
    assert.equal(two.metadata.annotations!['kruise.io/sidecarset-injected-list'], 'sidecarset1,sidecarset3');
  });
  it('should write the hash map as Go marshals it, with the timestamp of now', () => {
    const out = injectSidecars(pod1(), [sidecarSetWithTransferEnv()], 'default', T0 + 1500).pod;
    assert.equal(out.metadata.annotations!['kruise.io/sidecarset-hash'],
      '{"sidecarset2":{"updateTimestamp":"2021-05-19T10:00:01Z","hash":"c4k2dbb95d","sidecarSetName":"sidecarset2"}}');
  });
  it('should compute the without-image hash when the set has no annotation for it', () => {
    const out = injectSidecars(pod1(), [sidecarSet1()], 'default', T0).pod;
    assert.match(podSidecarSetRevisionWithoutImage(out, 'sidecarset1'), /^[456789bcdfvwxz2]{64}$/);
  });
  it('should keep and upgrade legacy {"name":"hash"} entries (TestPodSidecarSetHashCompatibility)', () => {
    const pod = pod1();
    pod.metadata.annotations = {
      'kruise.io/sidecarset-hash': '{"sidecarset-test":"bv6d2fbw97wz8xx5x4v4wddwbd5z744wcf7c786dd4dvxvd5w6w424df7vx47989"}',
      'kruise.io/sidecarset-hash-without-image': '{"sidecarset-test":"54x5977vf9zz4248w7v44456zf655b8bcffv7x74w88f6dwb994fw48b8f9b8959"}',
    };
    const out = injectSidecars(pod, [sidecarSet1()], 'default', T0).pod;
    const map = parseSidecarSetHashAnnotation(out.metadata.annotations!['kruise.io/sidecarset-hash'])!;
    assert.deepEqual(map['sidecarset-test'], { updateTimestamp: null, hash: 'bv6d2fbw97wz8xx5x4v4wddwbd5z744wcf7c786dd4dvxvd5w6w424df7vx47989', sidecarSetName: 'sidecarset-test' });
    assert.equal(map.sidecarset1!.hash, 'c4k2dbb95d');
    assert.equal(podSidecarSetRevisionWithoutImage(out, 'sidecarset-test'), '54x5977vf9zz4248w7v44456zf655b8bcffv7x74w88f6dwb994fw48b8f9b8959');
  });
  it('should read a legacy hash annotation directly', () => {
    assert.equal(podSidecarSetRevision({ metadata: { annotations: { 'kruise.io/sidecarset-hash': '{"test-sidecarset": "aaa"}' } } }, 'test-sidecarset'), 'aaa');
    assert.equal(podSidecarSetRevision({ metadata: { annotations: { 'kruise.io/sidecarset-hash': 'failed-sidecarset-hash' } } }, 'test-sidecarset'), '');
  });
  it('should refuse a Pod whose hash annotation does not parse', () => {
    const pod = pod1();
    pod.metadata.annotations = { 'kruise.io/sidecarset-hash': 'not json' };
    assert.throws(() => injectSidecars(pod, [sidecarSet1()], 'default', T0), (e: unknown) => (e as { reason?: string }).reason === 'BadRequest');
  });
});

describe('injectSidecars: TestInjectHotUpgradeSidecar', () => {
  const set = sidecarSet1();
  set.metadata.annotations!['kruise.io/sidecarset-hash-without-image'] = 'without-c4k2dbb95d';
  set.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'busy:hotupgrade-empty' };
  const out = injectSidecars(pod1(), [set], 'default', T0).pod;
  const a = out.metadata.annotations!;
  it('should give 4 containers: dns-f-1 on the sidecar image, dns-f-2 on the empty image', () => {
    assert.deepEqual(names(out.spec.containers), ['dns-f-1', 'dns-f-2', 'nginx', 'log-agent']);
    assert.equal(out.spec.containers[0]!.image, 'dns-f-image:1.0');
    assert.equal(out.spec.containers[1]!.image, 'busy:hotupgrade-empty');
  });
  it('should record hash, hash-without-image and the injected list', () => {
    assert.equal(podSidecarSetRevision(out, 'sidecarset1'), 'c4k2dbb95d');
    assert.equal(podSidecarSetRevisionWithoutImage(out, 'sidecarset1'), 'without-c4k2dbb95d');
    assert.equal(a['kruise.io/sidecarset-injected-list'], 'sidecarset1');
  });
  it('should mark dns-f-1 working with versions 1/0 and 0/1', () => {
    assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"dns-f":"dns-f-1"}');
    assert.deepEqual(workingContainer(out, 'dns-f'), { working: 'dns-f-1', other: 'dns-f-2' });
    assert.equal(a['version.sidecarset.kruise.io/dns-f-1'], '1');
    assert.equal(a['versionalt.sidecarset.kruise.io/dns-f-1'], '0');
    assert.equal(a['version.sidecarset.kruise.io/dns-f-2'], '0');
    assert.equal(a['versionalt.sidecarset.kruise.io/dns-f-2'], '1');
  });
  it('should inject SIDECARSET_VERSION and SIDECARSET_VERSION_ALT from the downward API after IS_INJECTED', () => {
    assert.deepEqual(out.spec.containers[1]!.env, [
      { name: 'IS_INJECTED', value: 'true' },
      { name: 'SIDECARSET_VERSION', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['version.sidecarset.kruise.io/dns-f-2']" } } },
      { name: 'SIDECARSET_VERSION_ALT', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['versionalt.sidecarset.kruise.io/dns-f-2']" } } },
    ]);
  });
  it('should record every hot sidecar of a set as working on -1', () => {
    const two = structuredClone(set);
    two.spec.containers![1]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'busy:empty' };
    const o = injectSidecars(pod1(), [two], 'default', T0).pod;
    assert.equal(o.metadata.annotations!['kruise.io/sidecarset-working-hotupgrade-container'], '{"dns-f":"dns-f-1","log-agent":"log-agent-1"}');
  });
});

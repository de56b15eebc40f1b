/**
 * §7.3/§7.4 upgrade planning against upstream's controller tests (sidecarset_strategy_test.go,
 * sidecarset_processor_test.go, sidecarset_controller_test.go, v0.9.0).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';
import { applySidecarPodPatch } from '../../../../src/coordinator/sidecarset/hot-upgrade.js';
import {
  choosePodsToUpgrade, choosePodsToUpgradeWithReason, coldUpgradePatch, isPodConsistent, isPodReadyForSidecarSet,
  matchedPods, planSidecarSet, sidecarSetStatus, statusChanged,
} from '../../../../src/coordinator/sidecarset/upgrade-plan.js';
import { expandScatterTerms, scatterSort } from '../../../../src/coordinator/sidecarset/scatter.js';
import { podSidecarSetRevision } from '../../../../src/coordinator/sidecarset/pod-annotations.js';
import { IMAGE_ID_V1, IMAGE_ID_V2, T0, container, makePod, makeSet, setReady, status } from './fixtures.js';

/** Deterministic shuffle (upstream shuffles with math/rand; the result must not depend on input order). */
function shuffle<T>(items: T[], seed = 7): T[] {
  let s = seed;
  for (let i = items.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Upstream `factoryPods(count, upgraded, upgradedAndReady)`: pod-i created at i s; the first `upgraded` carry the new hash. */
function factoryPods(count: number, upgraded: number, upgradedAndReady: number, set = makeSet()): Pod[] {
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++) {
    let pod = makePod(`pod-${i}`, i);
    if (i < upgraded) pod = applySidecarPodPatch(pod, coldUpgradePatch(pod, set, T0));
    if (i < upgradedAndReady) pod.status!.containerStatuses![1] = status('test-sidecar', 'test-image:v2', IMAGE_ID_V2);
    pods.push(pod);
  }
  return pods;
}

const withStrategy = (strategy: SidecarSet['spec']['updateStrategy']): SidecarSet => makeSet({ updateStrategy: strategy });

describe('choosePodsToUpgrade: TestGetNextUpgradePods counts', () => {
  const rows: { name: string; pods: () => Pod[]; set: SidecarSet; want: number }[] = [
    { name: 'only maxUnavailable(int=10), and pods(count=100, upgraded=30, upgradedAndReady=26)', pods: () => factoryPods(100, 30, 26), set: withStrategy({ maxUnavailable: 10 }), want: 6 },
    { name: 'only maxUnavailable(string=10%), and pods(count=1000, upgraded=300, upgradedAndReady=260)', pods: () => factoryPods(1000, 300, 260), set: withStrategy({ maxUnavailable: '10%' }), want: 60 },
    { name: 'only maxUnavailable(string=5%), and pods(count=1000, upgraded=300, upgradedAndReady=250)', pods: () => factoryPods(1000, 300, 250), set: withStrategy({ maxUnavailable: '5%' }), want: 0 },
    { name: 'only maxUnavailable(int=100), and pods(count=100, upgraded=30, upgradedAndReady=27)', pods: () => factoryPods(100, 30, 27), set: withStrategy({ maxUnavailable: 100 }), want: 70 },
    { name: 'partition(int=180) maxUnavailable(int=100), and pods(count=1000, upgraded=800, upgradedAndReady=760)', pods: () => factoryPods(1000, 800, 760), set: withStrategy({ maxUnavailable: 100, partition: 180 }), want: 20 },
    { name: 'partition(int=100) maxUnavailable(int=100), and pods(count=1000, upgraded=800, upgradedAndReady=760)', pods: () => factoryPods(1000, 800, 760), set: withStrategy({ maxUnavailable: 100, partition: 100 }), want: 60 },
    { name: 'partition(string=18%) maxUnavailable(int=100), and pods(count=1000, upgraded=800, upgradedAndReady=760)', pods: () => factoryPods(1000, 800, 760), set: withStrategy({ maxUnavailable: 100, partition: '18%' }), want: 20 },
    { name: 'partition(string=10%) maxUnavailable(int=100), and pods(count=1000, upgraded=800, upgradedAndReady=760)', pods: () => factoryPods(1000, 800, 760), set: withStrategy({ maxUnavailable: 100, partition: '10%' }), want: 60 },
    {
      name: 'selector(app=test, count=30) maxUnavailable(int=100), and pods(count=1000, upgraded=0, upgradedAndReady=0)',
      pods: () => {
        const pods = factoryPods(1000, 0, 0);
        for (let i = 0; i < 30; i++) pods[i]!.metadata.labels = { app: 'test' };
        return pods;
      },
      set: withStrategy({ maxUnavailable: 100, selector: { matchLabels: { app: 'test' } } }),
      want: 30,
    },
    { name: 'default maxUnavailable 1, and pods(count=10, upgraded=0)', pods: () => factoryPods(10, 0, 0), set: withStrategy({}), want: 1 },
  ];
  for (const row of rows) {
    it(`should choose ${row.want} pods for ${row.name}`, () => {
      assert.equal(choosePodsToUpgrade(row.set, shuffle(row.pods())).length, row.want);
    });
  }
});

describe('choosePodsToUpgrade: TestSortNextUpgradePods order', () => {
  it('should take the newest pods first', () => {
    const set = withStrategy({ maxUnavailable: 10 });
    assert.deepEqual(choosePodsToUpgrade(set, shuffle(factoryPods(20, 10, 5))).map((p) => p.metadata.name),
      ['pod-19', 'pod-18', 'pod-17', 'pod-16', 'pod-15']);
  });
  it('should take not-ready pods first, outside maxUnavailable', () => {
    const set = withStrategy({ maxUnavailable: 10 });
    const pods = factoryPods(20, 10, 5);
    setReady(pods[10]!, false);
    setReady(pods[13]!, false);
    assert.deepEqual(choosePodsToUpgrade(set, shuffle(pods)).map((p) => p.metadata.name),
      ['pod-13', 'pod-10', 'pod-19', 'pod-18', 'pod-17', 'pod-16', 'pod-15']);
  });
});

describe('choosePodsToUpgrade: stop rules and upgradability', () => {
  it('should stop for NotUpdate (TestUpdateWhenUseNotUpdateStrategy)', () => {
    assert.deepEqual(choosePodsToUpgradeWithReason(withStrategy({ type: 'NotUpdate' }), factoryPods(3, 0, 0)), { pods: [], skipped: 'NotUpdate' });
  });
  it('should stop when paused (TestUpdateWhenSidecarSetPaused)', () => {
    assert.deepEqual(choosePodsToUpgradeWithReason(withStrategy({ paused: true }), factoryPods(3, 0, 0)), { pods: [], skipped: 'Paused' });
  });
  it('should stop when every matched pod is updated (TestUpdateWhenPartitionFinished)', () => {
    assert.equal(choosePodsToUpgradeWithReason(withStrategy({}), factoryPods(3, 3, 3)).skipped, 'AllUpdated');
  });
  it('should never choose a pod whose without-image hash differs (env change needs recreation)', () => {
    const set = makeSet({}, { 'kruise.io/sidecarset-hash-without-image': 'without-bbb' });
    assert.deepEqual(choosePodsToUpgrade(set, factoryPods(3, 0, 0)), []);
  });
  it('should not choose a pod whose sidecar is Ready but still inconsistent (upgrade in flight)', () => {
    const set = makeSet({}, { 'kruise.io/sidecarset-hash': 'ccc' });
    const pods = factoryPods(1, 1, 0); // spec v2, status still v1 and Ready, recorded imageID unchanged
    assert.deepEqual(choosePodsToUpgrade(set, pods), []);
  });
  it('should spread candidates by scatter terms, expanding *', () => {
    const pods = factoryPods(6, 0, 0);
    pods.forEach((p, i) => { p.metadata.labels = { app: 'sidecar', zone: i < 4 ? 'a' : 'b' }; });
    const terms = expandScatterTerms([{ key: 'zone', value: '*' }], pods);
    assert.deepEqual(terms, [{ key: 'zone', value: 'a' }, { key: 'zone', value: 'b' }]);
    const ordered = [...pods].reverse(); // newest first: 5,4 (b) then 3,2,1,0 (a)
    // zone=a alone: its last candidate goes to the end, the rest interleave with zone=b.
    assert.deepEqual(scatterSort([{ key: 'zone', value: 'a' }], pods, ordered).map((p) => p.metadata.name),
      ['pod-3', 'pod-2', 'pod-5', 'pod-1', 'pod-4', 'pod-0']);
    // Both expanded terms, the more populous (a) first, then b moves its last candidate to the end.
    assert.deepEqual(scatterSort(terms, pods, ordered).map((p) => p.metadata.name),
      ['pod-5', 'pod-3', 'pod-2', 'pod-1', 'pod-0', 'pod-4']);
  });
});

describe('sidecarSetStatus and matchedPods', () => {
  it('should count only injected, active pods of the set', () => {
    const set = makeSet();
    const pods = factoryPods(3, 1, 1);
    const foreign = makePod('foreign', 9, { labels: { app: 'other' } });
    const notInjected = makePod('not-injected', 9, { annotations: {} });
    const deleting = makePod('deleting', 9);
    deleting.metadata.deletionTimestamp = '2021-05-19T10:00:00Z';
    const system = makePod('system', 9);
    system.metadata.namespace = 'kube-system';
    const scoped = makeSet({ namespace: 'other-ns' });
    assert.deepEqual(matchedPods(set, [...pods, foreign, notInjected, deleting, system]).map((p) => p.metadata.name), ['pod-0', 'pod-1', 'pod-2']);
    assert.deepEqual(matchedPods(scoped, pods), []);
  });
  it('should count matched, updated, ready and updatedReady', () => {
    const set = makeSet();
    set.metadata.generation = 4;
    const pods = factoryPods(4, 2, 1); // pod-1 updated but inconsistent
    const st = sidecarSetStatus(set, pods);
    assert.deepEqual(st, { observedGeneration: 4, matchedPods: 4, updatedPods: 2, readyPods: 3, updatedReadyPods: 1 });
    assert.equal(statusChanged(set, st), true);
    assert.equal(statusChanged({ ...set, status: st }, st), false);
  });
});

describe('isPodConsistent and isPodReadyForSidecarSet', () => {
  const digest = 'sha256:f7988fb6c02e0ce69257d9bd9cf37ae20a60f1df7563c3a2a6abe24160306b8d';
  const digestPod = (specImage: string, imageID: string): Pod => makePod('p', 0, {
    containers: [{ name: 'nginx', image: 'nginx:1.15.1' }, { name: 'test-sidecar', image: specImage }],
    statuses: [status('nginx', 'nginx:1.15.1', 'x'), status('test-sidecar', 'whatever', imageID)],
  });
  const rows: { name: string; pod: Pod; want: boolean }[] = [
    { name: 'a pod only injected (no in-place state) is consistent', pod: makePod('p'), want: true },
    { name: 'a digest image with the same digest in imageID is consistent', pod: digestPod(`test-image@${digest}`, `docker-pullable://test-image@${digest}`), want: true },
    { name: 'a digest image whose imageID shows another digest is not', pod: digestPod(`test-image@${digest}`, IMAGE_ID_V1), want: false },
    { name: 'a short digest name matches the runtime\'s normalised imageID', pod: digestPod(`test-image@${digest}`, `docker.io/library/test-image@${digest}`), want: true },
    { name: 'a pod whose container count differs from its statuses is not', pod: { ...makePod('p'), status: { ...makePod('p').status!, containerStatuses: [status('nginx', 'n', 'x')] } }, want: false },
  ];
  for (const row of rows) {
    it(`should decide that ${row.name}`, () => {
      assert.equal(isPodConsistent(row.pod, makeSet()), row.want);
    });
  }
  it('should see an upgraded container as inconsistent until its imageID changes', () => {
    const set = makeSet();
    const [pod] = factoryPods(1, 1, 0);
    assert.equal(isPodConsistent(pod!, set), false);
    pod!.status!.containerStatuses![1] = status('test-sidecar', 'docker.io/library/test-image:v2', IMAGE_ID_V1);
    assert.equal(isPodConsistent(pod!, set), true, 'a normalised status image equal to the spec image is consistent');
    pod!.status!.containerStatuses![1] = status('test-sidecar', 'test-image:v2', IMAGE_ID_V2);
    assert.equal(isPodConsistent(pod!, set), true);
  });
  it('should need Running and Ready=True for readiness', () => {
    const pod = makePod('p');
    assert.equal(isPodReadyForSidecarSet(pod, makeSet()), true);
    pod.status!.phase = 'Pending';
    assert.equal(isPodReadyForSidecarSet(pod, makeSet()), false);
  });
});

describe('coldUpgradePatch', () => {
  it('should change only the image, rewrite the hash entry and record the pre-update imageID', () => {
    const pod = makePod('p');
    const patch = coldUpgradePatch(pod, makeSet(), T0);
    assert.deepEqual(patch.images, { 'test-sidecar': 'test-image:v2' });
    assert.deepEqual(patch.changedContainers, ['test-sidecar']);
    assert.equal(patch.annotations['kruise.io/sidecarset-hash'], '{"test-sidecarset":{"updateTimestamp":"2021-05-19T10:00:00Z","hash":"bbb","sidecarSetName":"test-sidecarset"}}');
    assert.equal(patch.annotations['kruise.io/sidecarset-inplace-update-state'],
      `{"test-sidecarset":{"revision":"bbb","updateTimestamp":"2021-05-19T10:00:00Z","lastContainerStatuses":{"test-sidecar":{"imageID":"${IMAGE_ID_V1}"}}}}`);
    const out = applySidecarPodPatch(pod, patch);
    assert.equal(container(out, 'test-sidecar')!.image, 'test-image:v2');
    assert.equal(podSidecarSetRevision(out, 'test-sidecarset'), 'bbb');
  });
  it('should keep the revision and timestamp of an existing in-place state entry and merge containers', () => {
    const set = makeSet({ containers: [{ name: 'test-sidecar', image: 'test-image:v2' }, { name: 'other', image: 'o:2' }] });
    const pod = makePod('p', 0, {
      containers: [{ name: 'test-sidecar', image: 'test-image:v2' }, { name: 'other', image: 'o:1' }],
      statuses: [status('test-sidecar', 'test-image:v2', IMAGE_ID_V2), status('other', 'o:1', 'id-o1')],
      annotations: { 'kruise.io/sidecarset-inplace-update-state': `{"test-sidecarset":{"revision":"old","updateTimestamp":"2020-01-01T00:00:00Z","lastContainerStatuses":{"test-sidecar":{"imageID":"${IMAGE_ID_V1}"}}}}` },
    });
    const patch = coldUpgradePatch(pod, set, T0);
    assert.deepEqual(patch.changedContainers, ['other']);
    assert.equal(patch.annotations['kruise.io/sidecarset-inplace-update-state'],
      `{"test-sidecarset":{"revision":"old","updateTimestamp":"2020-01-01T00:00:00Z","lastContainerStatuses":{"other":{"imageID":"id-o1"},"test-sidecar":{"imageID":"${IMAGE_ID_V1}"}}}}`);
  });
  it('should add the injected list when the pod has none and the sets are given', () => {
    const pod = makePod('p');
    const patch = coldUpgradePatch(pod, makeSet(), T0, [makeSet(), makeSet({ selector: { matchLabels: { app: 'x' } } }, {}, 'other')]);
    assert.equal(patch.annotations['kruise.io/sidecarset-injected-list'], 'test-sidecarset');
  });
});

describe('planSidecarSet: TestUpdateColdUpgradeSidecar, one pod at a time', () => {
  it('should upgrade pods one by one while maxUnavailable is 1', () => {
    let set = makeSet();
    let pods = [makePod('pod-0', 0), makePod('pod-1', 1)];
    const steps: { status: number[]; upgraded: string[]; afterStep?: (ps: Pod[]) => void }[] = [
      { status: [2, 0, 2, 0], upgraded: ['pod-1'], afterStep: (ps) => { ps[1]!.status!.containerStatuses![1] = status('test-sidecar', 'test-image:v2', IMAGE_ID_V2); } },
      { status: [2, 1, 2, 1], upgraded: ['pod-0'], afterStep: (ps) => { ps[0]!.status!.containerStatuses![1] = status('test-sidecar', 'test-image:v2', IMAGE_ID_V2); } },
      { status: [2, 2, 2, 2], upgraded: [] },
    ];
    for (const step of steps) {
      const plan = planSidecarSet(set, pods, T0);
      const s = plan.status;
      assert.deepEqual([s.matchedPods, s.updatedPods, s.readyPods, s.updatedReadyPods], step.status);
      assert.deepEqual(plan.actions.map((a) => a.name), step.upgraded);
      pods = pods.map((p) => {
        const a = plan.actions.find((x) => x.name === p.metadata.name);
        return a ? applySidecarPodPatch(p, a.patch) : p;
      });
      set = { ...set, status: s };
      step.afterStep?.(pods);
    }
  });
  it('should not upgrade a second pod while the first is still restarting', () => {
    const set = makeSet();
    let pods = [makePod('pod-0', 0), makePod('pod-1', 1)];
    const first = planSidecarSet(set, pods, T0);
    pods = pods.map((p) => (p.metadata.name === 'pod-1' ? applySidecarPodPatch(p, first.actions[0]!.patch) : p));
    const second = planSidecarSet(set, pods, T0);
    assert.deepEqual(second.actions, []);
    assert.deepEqual([second.status.updatedPods, second.status.readyPods], [1, 1]);
  });
});

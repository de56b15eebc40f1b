/**
 * Pod ordering and choice: spec §2.6 TestSortingActivePodsWithDeletionCost, pod-deletion-cost parsing (§2.1),
 * §2.3 victim choice with the ready budget, specified deletion order (§3.3 step 5), and update candidates with
 * the priority and scatter strategies (§3.6 steps 4-6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import {
  applyDeleteReadyLimit, choosePodsToDelete, chooseScaleInVictims, chooseSpecifiedToDelete, chooseUpdateCandidates,
  compareActivePods, compareForDeletion, intFromStringSuffix, podDeletionCost, sortByPriority, sortByScatter,
  sortUpdateCandidates,
} from '../../../../src/coordinator/cloneset/pod-order.js';
import { NOW, createTestCloneSet, createTestPod, iso } from './fixtures.js';

const OLD = 'sample-old7f';
const NEW = 'sample-new9c';

/** The upstream test's pod(name, node, phase, ready, restarts, readySince, created, annotations). */
function pod(name: string, node: string, phase: 'Pending' | 'Unknown' | 'Running', ready: boolean, restarts: number,
  readySince: number | undefined, created: number | undefined, annotations?: Record<string, string>): Pod {
  return {
    metadata: {
      name, ...(created === undefined ? {} : { creationTimestamp: iso(created) }), ...(annotations ? { annotations } : {}),
    },
    spec: { nodeName: node, containers: [] },
    status: {
      phase,
      conditions: ready ? [{ type: 'Ready', status: 'True', ...(readySince === undefined ? {} : { lastTransitionTime: iso(readySince) }) }] : [],
      containerStatuses: ready ? [{ name: 'c', ready: true, restartCount: restarts, image: '', imageID: '' }] : [],
    },
  };
}

const now = NOW;
const then = NOW - 30 * 24 * 3600_000;
const unscheduled = pod('unscheduled', '', 'Pending', false, 0, undefined, undefined);
const scheduledPending = pod('pending', 'node', 'Pending', false, 0, undefined, undefined);
const unknownPhase = pod('unknown-phase', 'node', 'Unknown', false, 0, undefined, undefined);
const runningNotReady = pod('not-ready', 'node', 'Running', false, 0, undefined, undefined);
const readyNoTransition = pod('ready-no-last-transition-time', 'node', 'Running', true, 0, undefined, undefined);
const readyNow = pod('ready-now', 'node', 'Running', true, 0, now, now);
const readyThen = pod('ready-then', 'node', 'Running', true, 0, then, then);
const readyNowHighRestarts = pod('ready-high-restarts', 'node', 'Running', true, 9001, now, now);
const readyNowCreatedThen = pod('ready-now-created-then', 'node', 'Running', true, 0, now, then);
const lowCost = pod('low-deletion-cost', 'node', 'Running', true, 0, now, then, { 'controller.kubernetes.io/pod-deletion-cost': '10' });
const highCost = pod('high-deletion-cost', 'node', 'Running', true, 0, now, then, { 'controller.kubernetes.io/pod-deletion-cost': '100' });

describe('compareForDeletion (TestSortingActivePodsWithDeletionCost)', () => {
  for (const p of [unscheduled, scheduledPending, unknownPhase, runningNotReady, readyNowCreatedThen, readyNow, readyThen, readyNowHighRestarts]) {
    it(`should not order ${p.metadata.name} before itself`, () => {
      assert.equal(compareForDeletion(p, p), 0);
    });
  }
  const lesser: [Pod, Pod, string][] = [
    [unscheduled, scheduledPending, 'an unscheduled Pod before a scheduled pending one'],
    [scheduledPending, unknownPhase, 'a pending Pod before an unknown-phase one'],
    [unknownPhase, runningNotReady, 'an unknown-phase Pod before a running not-ready one'],
    [runningNotReady, readyNoTransition, 'a not-ready Pod before a ready one with a zero transition time'],
    [readyNoTransition, readyNow, 'a zero ready time before a ready-now Pod'],
    [readyNow, readyThen, 'the more recently ready Pod first'],
    [readyNowHighRestarts, readyNow, 'the Pod with more restarts first'],
    [readyNow, readyNowCreatedThen, 'the newer Pod first'],
    [lowCost, highCost, 'deletion cost "10" before "100"'],
  ];
  for (const [a, b, what] of lesser) {
    it(`should delete ${what}`, () => {
      assert.ok(compareForDeletion(a, b) < 0);
      assert.ok(compareForDeletion(b, a) > 0);
    });
  }
  it('should rank deletion cost after readiness but before ready time', () => {
    const costlyRecent = pod('costly-recent', 'node', 'Running', true, 0, now, now, { 'controller.kubernetes.io/pod-deletion-cost': '5' });
    assert.ok(compareForDeletion(readyThen, costlyRecent) < 0, 'lower cost wins over more recently ready');
    assert.ok(compareForDeletion(runningNotReady, lowCost) < 0, 'not-ready still goes first');
  });
  it('should ignore deletion cost in the ActivePods (update) order', () => {
    // Identical but for the cost: the update order falls through to our name tie-break ("high" < "low").
    assert.ok(compareActivePods(highCost, lowCost) < 0);
    assert.ok(compareForDeletion(lowCost, highCost) < 0);
    assert.ok(compareActivePods(readyNow, readyThen) < 0);
    assert.ok(compareActivePods(unscheduled, scheduledPending) < 0);
  });
});

describe('podDeletionCost (§2.1)', () => {
  const cases: [string | undefined, number][] = [
    [undefined, 0], ['10', 10], ['-5', -5], ['0', 0], ['', 0], ['+10', 0], ['008', 0], ['abc', 0], ['1.5', 0],
    ['2147483647', 2147483647], ['-2147483648', -2147483648], ['2147483648', 0], ['-2147483649', 0], ['-', 0],
  ];
  for (const [value, want] of cases) {
    it(`should read ${JSON.stringify(value)} as ${want}`, () => {
      const p = pod('x', 'node', 'Running', true, 0, now, now, value === undefined ? undefined : { 'controller.kubernetes.io/pod-deletion-cost': value });
      assert.equal(podDeletionCost(p), want);
    });
  }
});

const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata.name);

describe('choosePodsToDelete (§2.3)', () => {
  const notUpdated = [readyThen, runningNotReady, readyNow];
  const updated = [lowCost, unscheduled];
  it('should take every victim from the not-updated group when its diff covers the total', () => {
    assert.deepEqual(names(choosePodsToDelete(2, 2, notUpdated, updated)), ['not-ready', 'ready-now']);
  });
  it('should take the current-revision share first, then the rest from updated Pods', () => {
    // The remainder (2) is the whole updated group, which upstream takes as is, without sorting.
    assert.deepEqual(names(choosePodsToDelete(3, 1, notUpdated, updated)), ['not-ready', 'low-deletion-cost', 'unscheduled']);
    assert.deepEqual(names(choosePodsToDelete(2, 1, notUpdated, updated)), ['not-ready', 'unscheduled']);
  });
  it('should take only updated Pods when the current-revision diff is not positive', () => {
    assert.deepEqual(names(choosePodsToDelete(1, 0, notUpdated, updated)), ['unscheduled']);
  });
  it('should return the whole group unsorted when all of it goes', () => {
    assert.deepEqual(names(choosePodsToDelete(3, 3, notUpdated, updated)), ['ready-then', 'not-ready', 'ready-now']);
  });
});

describe('ready budget and specified deletion (§3.3 steps 5-6)', () => {
  const set = createTestCloneSet(5, 0, 1, 0);
  it('should always take not-ready Pods and ready ones only while budget remains', () => {
    const pods = [createTestPod(NEW, 'Normal', true, false, 'r1'), createTestPod(NEW, 'Normal', false, false, 'n1'),
      createTestPod(NEW, 'Normal', true, false, 'r2')];
    const r = applyDeleteReadyLimit(set, pods, 1, NOW);
    assert.deepEqual(names(r.pods), ['r1', 'n1']);
    assert.deepEqual(names(r.skipped), ['r2']);
    assert.equal(r.remainingLimit, 0);
  });
  it('should delete specified Pods of the update revision before old ones, skipping PreparingDelete', () => {
    const pods = [createTestPod(OLD, 'Normal', true, true, 'old-spec'), createTestPod(NEW, 'Normal', true, true, 'new-spec'),
      createTestPod(NEW, 'PreparingDelete', true, true, 'pre-del'), createTestPod(NEW, 'Normal', true, false, 'plain')];
    const r = chooseSpecifiedToDelete(set, pods, NEW, 1, NOW);
    assert.deepEqual(names(r.pods), ['new-spec']);
    assert.deepEqual(names(r.skipped), ['old-spec']);
  });
  it('should honour podsToDelete names like the label', () => {
    const s = createTestCloneSet(5, 0, 1, 0);
    s.spec.scaleStrategy = { podsToDelete: ['by-name'] };
    const r = chooseSpecifiedToDelete(s, [createTestPod(NEW, 'Normal', false, false, 'by-name')], NEW, 0, NOW);
    assert.deepEqual(names(r.pods), ['by-name']);
  });
  it('should pick scale-in victims among non-specified Pods, old revision first', () => {
    const pods = [createTestPod(NEW, 'Normal', true, false, 'n1'), createTestPod(OLD, 'Normal', true, false, 'o1'),
      createTestPod(OLD, 'Normal', true, true, 'o-spec'), createTestPod(NEW, 'Normal', true, false, 'n2')];
    const r = chooseScaleInVictims(set, pods, { scaleNum: -1, scaleNumOldRevision: -1 }, NEW, 5, NOW);
    assert.deepEqual(names(r.pods), ['o1']);
    assert.deepEqual(names(chooseScaleInVictims(set, pods, { scaleNum: 0, scaleNumOldRevision: 0 }, NEW, 5, NOW).pods), []);
  });
});

function labelled(name: string, labels: Record<string, string>): Pod {
  const p = createTestPod(OLD, 'Normal', true, false, name);
  Object.assign(p.metadata.labels!, labels);
  return p;
}

describe('update order (§3.6 step 5)', () => {
  it('should sort by summed weight, highest first, keeping ties in order', () => {
    const pods = [labelled('a', {}), labelled('b', { tier: 'x' }), labelled('c', { tier: 'x', zone: 'z' }), labelled('d', {})];
    const sorted = sortByPriority(pods, { weightPriority: [
      { weight: 50, matchSelector: { matchLabels: { tier: 'x' } } },
      { weight: 30, matchSelector: { matchLabels: { zone: 'z' } } },
    ] });
    assert.deepEqual(names(sorted), ['c', 'b', 'a', 'd']);
  });
  it('should sort by ordered keys: Pods with none first, then key index, then higher suffix first', () => {
    const pods = [labelled('k2', { second: 'v9' }), labelled('k1-3', { first: 'n-3' }), labelled('none', {}),
      labelled('k1-10', { first: 'n-10' })];
    const sorted = sortByPriority(pods, { orderPriority: [{ orderedKey: 'first' }, { orderedKey: 'second' }] });
    assert.deepEqual(names(sorted), ['none', 'k1-10', 'k1-3', 'k2']);
  });
  it('should read the integer suffix of a label value', () => {
    assert.deepEqual(['abc-12', 'v9', 'x', '', '99999999999999999999'].map(intFromStringSuffix), [12, 9, 0, 0, 0]);
  });
  it('should scatter Pods of one zone among the others', () => {
    const pods = ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => labelled(n, { zone: i < 3 ? 'z1' : 'z2' }));
    const sorted = sortByScatter(pods, pods, [{ key: 'zone', value: 'z1' }]);
    // c (the last z1 candidate) goes last; a and b lead groups of 1 matched + round(3/2) = 2 unmatched.
    assert.deepEqual(names(sorted), ['a', 'd', 'e', 'b', 'f', 'c']);
  });
  it('should leave the order alone when one side has at most one Pod', () => {
    const pods = ['a', 'b', 'c'].map((n, i) => labelled(n, { zone: i === 0 ? 'z1' : 'z2' }));
    assert.deepEqual(names(sortByScatter(pods, pods, [{ key: 'zone', value: 'z1' }])), ['a', 'b', 'c']);
  });
  it('should put PreparingUpdate Pods first after every other rule', () => {
    const set = createTestCloneSet(3, 0, 1, 0);
    const a = createTestPod(OLD, 'Normal', true, false, 'a');
    const b = createTestPod(OLD, 'PreparingUpdate', true, false, 'b');
    const c = createTestPod(OLD, 'Normal', false, false, 'c');
    assert.deepEqual(names(sortUpdateCandidates(set, [a, b, c], [a, b, c])), ['b', 'c', 'a']);
  });
});

describe('chooseUpdateCandidates (§3.6 steps 4-6)', () => {
  it('should update |updateNum| old Pods under updateMaxUnavailable (update partition=3, step 1/3)', () => {
    const set = createTestCloneSet(5, 3, 1, 0);
    const pods = ['a', 'b', 'c', 'd', 'e'].map((n) => createTestPod(OLD, 'Normal', true, false, n));
    const c = chooseUpdateCandidates(set, pods, { updateNum: 2, updateMaxUnavailable: 1 }, OLD, NEW, NOW);
    assert.equal(c.targetRevision, NEW);
    assert.equal(c.pods.length, 1, 'the second ready Pod would exceed maxUnavailable 1');
  });
  it('should always allow not-ready candidates and stop at the first ready one that does not fit', () => {
    const set = createTestCloneSet(5, 0, 1, 0);
    const pods = [createTestPod(OLD, 'Normal', false, false, 'nr1'), createTestPod(OLD, 'Normal', false, false, 'nr2'),
      createTestPod(OLD, 'Normal', true, false, 'r1')];
    const c = chooseUpdateCandidates(set, pods, { updateNum: 3, updateMaxUnavailable: 1 }, OLD, NEW, NOW);
    assert.deepEqual(names(c.pods), ['nr1', 'nr2']);
  });
  it('should exclude PreparingDelete, Updated and in-grace Pods', () => {
    const set = createTestCloneSet(4, 0, 4, 0);
    const grace = createTestPod(OLD, 'Normal', true, false, 'grace');
    grace.metadata.annotations = { 'apps.kruise.io/inplace-update-grace': '{"revision":"x"}' };
    const pods = [createTestPod(OLD, 'PreparingDelete', true, false, 'pd'), createTestPod(OLD, 'Updated', true, false, 'upd'),
      grace, createTestPod(OLD, 'Normal', true, false, 'ok')];
    assert.deepEqual(names(chooseUpdateCandidates(set, pods, { updateNum: 4, updateMaxUnavailable: 4 }, OLD, NEW, NOW).pods), ['ok']);
  });
  it('should roll back the newest updated Pods to the current revision (rollback partition=4, step 1/3)', () => {
    const set = createTestCloneSet(5, 4, 2, 0);
    const pods = [0, 1, 2, 3].map((i) => {
      const p = createTestPod(NEW, 'Normal', true, false, `new-${i}`);
      p.metadata.creationTimestamp = iso(NOW - (10 - i) * 60_000);
      return p;
    });
    pods.push(createTestPod(OLD, 'Normal', true, false, 'old'));
    const c = chooseUpdateCandidates(set, pods, { updateNum: -3, updateMaxUnavailable: 2 }, OLD, NEW, NOW);
    assert.equal(c.targetRevision, OLD);
    assert.deepEqual(names(c.pods), ['new-3', 'new-2']);
  });
  it('should choose nothing when updateNum is 0', () => {
    assert.deepEqual(chooseUpdateCandidates(createTestCloneSet(1, 0, 1, 0), [], { updateNum: 0, updateMaxUnavailable: 0 }, OLD, NEW, NOW).pods, []);
  });
});

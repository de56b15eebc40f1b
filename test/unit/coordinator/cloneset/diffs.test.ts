/**
 * calculateDiffs against spec §3.7 (upstream TestCalculateDiffsWithExpectation, v0.9.0): every row, multi-step
 * scenarios as consecutive rows, the gate CloneSetPartitionRollback on except where a row says otherwise (as
 * upstream runs them). Rows where our decisions (spec/README.md) differ from v0.9.0 carry our value and a comment.
 * Also §3.4's worked examples walked round by round, and §5.2's partition examples.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloneSet } from '../../../../src/api/cloneset-types.js';
import type { Pod } from '../../../../src/api/pod-types.js';
import {
  calculateDiffs, EMPTY_DIFFS, partitionReplicas, type ExpectationDiffs,
} from '../../../../src/coordinator/cloneset/diffs.js';
import { chooseScaleInVictims, chooseSpecifiedToDelete } from '../../../../src/coordinator/cloneset/pod-order.js';
import { GATES_DEFAULT, GATES_ROLLBACK, NOW, createTestCloneSet as cs, createTestPod, times } from './fixtures.js';

const OLD = 'sample-old7f';
const NEW = 'sample-new9c';
const p = (rev: string, state: Parameters<typeof createTestPod>[1], ready: boolean, specified: boolean) =>
  createTestPod(rev, state, ready, specified);
const readyNew = () => p(NEW, 'Normal', true, false);
const readyOld = () => p(OLD, 'Normal', true, false);
const notReadyNew = () => p(NEW, 'Normal', false, false);

interface Row {
  name: string;
  set: CloneSet;
  pods: Pod[];
  revisionConsistent?: boolean;
  disableFeatureGate?: boolean;
  want: Partial<ExpectationDiffs>;
}

const rows: Row[] = [
  { name: 'an empty cloneset', set: cs(0, 0, 1, 0), pods: [], want: {} },
  { name: 'increase replicas to 5 (step 1/2)', set: cs(5, 0, 1, 0), pods: [], want: { scaleNum: 5 } },
  { name: 'increase replicas to 5 (step 2/2)', set: cs(5, 0, 1, 0), pods: times(5, readyNew), want: {} },

  { name: 'specified delete 1 pod (all ready) (step 1/3)', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew)], want: { deleteReadyLimit: 1 } },
  { name: 'specified delete 1 pod (all ready) (step 2/3)', set: cs(5, 0, 1, 0), pods: times(4, readyNew), want: { scaleNum: 1 } },
  { name: 'specified delete 1 pod (all ready) (step 3/3)', set: cs(5, 0, 1, 0), pods: times(5, readyNew), want: {} },

  { name: 'specified delete 2 pod (all ready) (step 1/6)', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), p(NEW, 'Normal', true, true), ...times(3, readyNew)], want: { deleteReadyLimit: 1 } },
  { name: 'specified delete 2 pod (all ready) (step 2/6)', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), ...times(3, readyNew)], want: { scaleNum: 1 } },
  { name: 'specified delete 2 pod (all ready) (step 3/6)', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), ...times(3, readyNew), notReadyNew()], want: {} },
  { name: 'specified delete 2 pod (all ready) (step 4/6)', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew)], want: { deleteReadyLimit: 1 } },
  { name: 'specified delete 2 pod (all ready) (step 5/6)', set: cs(5, 0, 1, 0), pods: times(4, readyNew), want: { scaleNum: 1 } },
  { name: 'specified delete 2 pod (all ready) (step 6/6)', set: cs(5, 0, 1, 0), pods: times(5, readyNew), want: {} },

  // v0.9.0 expects {scaleNum: -1, deleteReadyLimit: 2}: it counts the specified Pods in the scale-down too, so it
  // deletes them and then re-creates. Ours excludes them from the scale-down count (spec/README.md, "Specified
  // delete + scale-in", main): deleting the two specified Pods already brings 5 towards 4.
  { name: 'specified delete 2 pod and replicas to 4 (step 1/3)', set: cs(4, 0, 1, 0),
    pods: [p(NEW, 'Normal', false, true), p(NEW, 'Normal', false, true), ...times(3, readyNew)], want: { deleteReadyLimit: 2 } },
  { name: 'specified delete 2 pod and replicas to 4 (step 2/3)', set: cs(4, 0, 1, 0), pods: times(3, readyNew), want: { scaleNum: 1 } },
  { name: 'specified delete 2 pod and replicas to 4 (step 3/3)', set: cs(4, 0, 1, 0), pods: times(4, readyNew), want: {} },

  { name: 'update partition=3 (step 1/3)', set: cs(5, 3, 1, 0), pods: times(5, readyOld), want: { updateNum: 2, updateMaxUnavailable: 1 } },
  { name: 'update partition=3 (step 2/3)', set: cs(5, 3, 1, 0), pods: [readyNew(), ...times(4, readyOld)], want: { updateNum: 1, updateMaxUnavailable: 1 } },
  { name: 'update partition=3 (step 3/3)', set: cs(5, 3, 1, 0), pods: [...times(2, readyNew), ...times(3, readyOld)], want: {} },

  { name: 'rollback partition=4 (step 1/3)', set: cs(5, 4, 2, 0), pods: [...times(4, readyNew), readyOld()], want: { updateNum: -3, updateMaxUnavailable: 2 } },
  { name: 'rollback partition=4 (step 2/3)', set: cs(5, 4, 2, 0), pods: [...times(2, readyNew), ...times(3, readyOld)], want: { updateNum: -1, updateMaxUnavailable: 2 } },
  { name: 'rollback partition=4 (step 3/3)', set: cs(5, 4, 2, 0), pods: [readyNew(), ...times(4, readyOld)], want: {} },

  { name: 'specified delete with maxSurge (step 1/4)', set: cs(5, 0, 0, 1),
    pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew)], want: { scaleNum: 1, useSurge: 1 } },
  { name: 'specified delete with maxSurge (step 2/4)', set: cs(5, 0, 0, 1),
    pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew), notReadyNew()], want: { useSurge: 1 } },
  { name: 'specified delete with maxSurge (step 3/4)', set: cs(5, 0, 0, 1),
    pods: [p(NEW, 'Normal', true, true), ...times(5, readyNew)], want: { deleteReadyLimit: 1, useSurge: 1 } },
  { name: 'specified delete with maxSurge (step 4/4)', set: cs(5, 0, 0, 1), pods: times(5, readyNew), want: {} },

  { name: 'update in-place partition=3 with maxSurge (step 1/4)', set: cs(5, 3, 1, 1), pods: times(5, readyOld),
    want: { scaleNum: 1, useSurge: 1, updateNum: 2, updateMaxUnavailable: 1 } },
  { name: 'update in-place partition=3 with maxSurge (step 2/4)', set: cs(5, 3, 1, 1), pods: [...times(5, readyOld), notReadyNew()],
    want: { useSurge: 1, updateNum: 1, updateMaxUnavailable: 2 } },
  { name: 'update in-place partition=3 with maxSurge (step 3/4)', set: cs(5, 3, 1, 1),
    pods: [...times(4, readyOld), p(NEW, 'Updating', true, false), notReadyNew()],
    want: { scaleNum: -1, scaleNumOldRevision: -1, deleteReadyLimit: 0 } },
  { name: 'update in-place partition=3 with maxSurge (step 4/4)', set: cs(5, 3, 1, 1),
    pods: [...times(4, readyOld), readyNew(), notReadyNew()],
    want: { scaleNum: -1, scaleNumOldRevision: -1, deleteReadyLimit: 1 } },

  { name: 'update recreate partition=3 with maxSurge (step 1/7)', set: cs(5, 3, 1, 1), pods: times(5, readyOld),
    want: { scaleNum: 1, useSurge: 1, updateNum: 2, updateMaxUnavailable: 1 } },
  { name: 'update recreate partition=3 with maxSurge (step 2/7)', set: cs(5, 3, 1, 1), pods: [...times(5, readyOld), notReadyNew()],
    want: { useSurge: 1, updateNum: 1, updateMaxUnavailable: 2 } },
  { name: 'update recreate partition=3 with maxSurge (step 3/7)', set: cs(5, 3, 1, 1),
    pods: [...times(4, readyOld), p(OLD, 'Normal', true, true), notReadyNew()],
    want: { useSurge: 1, useSurgeOldRevision: 1, deleteReadyLimit: 1, updateNum: 1, updateMaxUnavailable: 2 } },
  { name: 'update recreate partition=3 with maxSurge (step 4/7)', set: cs(5, 3, 1, 1), pods: [...times(4, readyOld), notReadyNew()],
    want: { scaleNum: 1, useSurge: 1, updateNum: 1, updateMaxUnavailable: 1 } },
  { name: 'update recreate partition=3 with maxSurge (step 5/7)', set: cs(5, 3, 1, 1), pods: [...times(4, readyOld), notReadyNew(), notReadyNew()],
    want: { scaleNum: -1, scaleNumOldRevision: -1, deleteReadyLimit: 0 } },
  { name: 'update recreate partition=3 with maxSurge (step 6/7)', set: cs(5, 3, 1, 1), pods: [...times(4, readyOld), readyNew(), notReadyNew()],
    want: { scaleNum: -1, scaleNumOldRevision: -1, deleteReadyLimit: 1 } },
  { name: 'update recreate partition=3 with maxSurge (step 7/7)', set: cs(5, 3, 1, 1), pods: [...times(3, readyOld), ...times(2, readyNew)], want: {} },

  { name: 'revision consistent 1', set: cs(5, 0, 1, 0), pods: times(5, readyNew), revisionConsistent: true, want: {} },
  { name: 'revision consistent 2', set: cs(5, 3, 1, 0), pods: times(5, readyNew), revisionConsistent: true, want: {} },
  { name: 'revision consistent 3', set: cs(5, 3, 1, 0), pods: [...times(2, readyOld), ...times(3, readyNew)], revisionConsistent: true, want: {} },
  { name: 'revision consistent 4', set: cs(5, 1, 1, 0), pods: [...times(3, readyOld), ...times(2, readyNew)], revisionConsistent: true,
    want: { updateNum: 2, updateMaxUnavailable: 1 } },
  { name: 'allow to update when fail to scale out normally', set: cs(5, 1, 2, 0), pods: [...times(2, readyOld), ...times(2, readyNew)],
    revisionConsistent: true, want: { scaleNum: 1, updateNum: 1, updateMaxUnavailable: 1 } },
  { name: 'allow to update when fail to scale in normally', set: cs(5, 1, 1, 0), pods: [...times(3, readyOld), ...times(3, readyNew)],
    revisionConsistent: true, want: { scaleNum: -1, scaleNumOldRevision: -2, deleteReadyLimit: 2, updateNum: 1, updateMaxUnavailable: 2 } },
  { name: 'disable rollback feature-gate', set: cs(5, 4, 1, 0), pods: [readyOld(), ...times(4, readyNew)], disableFeatureGate: true, want: {} },

  // Our decisions beyond the upstream table.
  // spec/README.md "Specified delete + scale-in" (main): 1 specified of 5 with replicas 3 → only one more goes.
  { name: 'scale-in to 3 while one of 5 Pods is specified counts the specified one out', set: cs(3, 0, 1, 0),
    pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew)], want: { scaleNum: -1, deleteReadyLimit: 3 } },
  // spec/README.md "Paused CloneSet" (main, upstream #1153): v0.9.0 would give {scaleNum: 1, useSurge: 1}.
  { name: 'a paused CloneSet uses no surge for a specified Pod', set: { ...cs(5, 0, 0, 1), spec: { ...cs(5, 0, 0, 1).spec,
    updateStrategy: { ...cs(5, 0, 0, 1).spec.updateStrategy, paused: true } } },
  pods: [p(NEW, 'Normal', true, true), ...times(4, readyNew)], want: {} },
  // spec/README.md "Partition percentages" (main, upstream #954): v0.9.0 keeps all 4 old (partition 4).
  { name: 'partition "99%" of 4 replicas still updates one Pod', set: cs(4, '99%', 1, 0), pods: times(4, readyOld),
    want: { updateNum: 1, updateMaxUnavailable: 1 } },
  { name: 'partition "100%" of 4 replicas updates nothing', set: cs(4, '100%', 1, 0), pods: times(4, readyOld), want: {} },
  { name: 'partition "50%" of 5 replicas keeps 3 old and updates 2', set: cs(5, '50%', 1, 0), pods: times(5, readyOld),
    want: { updateNum: 2, updateMaxUnavailable: 1 } },
  { name: 'a PreparingDelete Pod counts in the total but not as active', set: cs(5, 0, 1, 0),
    pods: [p(NEW, 'PreparingDelete', true, false), ...times(5, readyNew)], want: { scaleNum: -1, deleteReadyLimit: 1 } },
];

describe('calculateDiffs (TestCalculateDiffsWithExpectation rows)', () => {
  for (const r of rows) {
    it(`should compute ${r.name}`, () => {
      const current = r.revisionConsistent ? NEW : OLD;
      const gates = r.disableFeatureGate ? GATES_DEFAULT : GATES_ROLLBACK;
      const got = calculateDiffs(r.set, r.pods, current, NEW, gates, NOW);
      assert.deepEqual(got, { ...EMPTY_DIFFS, ...r.want });
    });
  }

  it('should ignore inactive Pods (terminating or finished)', () => {
    const terminating = readyNew();
    terminating.metadata.deletionTimestamp = '2021-05-19T11:59:00Z';
    const failed = readyNew();
    failed.status!.phase = 'Failed';
    assert.deepEqual(calculateDiffs(cs(2, 0, 1, 0), [terminating, failed, readyNew()], NEW, NEW, GATES_DEFAULT, NOW),
      { ...EMPTY_DIFFS, scaleNum: 1 });
  });

  it('should count a Pod ready for less than minReadySeconds as not ready', () => {
    const set = cs(3, 0, 1, 0);
    set.spec.minReadySeconds = 3600; // fixture Pods became ready 10 minutes before NOW
    const got = calculateDiffs(set, [p(NEW, 'Normal', true, true), readyNew(), readyNew()], NEW, NEW, GATES_DEFAULT, NOW);
    // All three count as unavailable for budget purposes except the specified one, which is never in notReady.
    assert.equal(got.deleteReadyLimit, 0);
  });

  it('should match Pods labelled with the short hash to the update revision', () => {
    const shortLabelled = times(3, () => p('new9c', 'Normal', true, false));
    assert.deepEqual(calculateDiffs(cs(3, 0, 1, 0), shortLabelled, NEW, NEW, GATES_DEFAULT, NOW), EMPTY_DIFFS);
  });
});

describe('partitionReplicas (§5.2, main rounding)', () => {
  const cases: [string | number | undefined, number, number][] = [
    ['50%', 5, 3], ['99%', 4, 3], ['25%', 10, 3], ['100%', 4, 4], ['100%%', 4, 3], [0, 5, 0], [undefined, 5, 0],
    [7, 5, 5], ['99%', 1, 1], ['0%', 5, 0], ['abc', 5, 0],
  ];
  for (const [value, replicas, want] of cases) {
    it(`should turn partition ${JSON.stringify(value)} of ${replicas} replicas into ${want} old Pods`, () => {
      assert.equal(partitionReplicas(value, replicas), want);
    });
  }
});

/**
 * One Scale round as §3.3 runs it (creation, then specified deletion, then scale-in), enough to walk §3.4's
 * worked examples: returns the Pods after the round and what happened.
 */
function scaleRound(set: CloneSet, pods: Pod[]): { pods: Pod[]; created: number; deleted: string[] } {
  const d = calculateDiffs(set, pods, NEW, NEW, GATES_DEFAULT, NOW);
  if (d.scaleNum > 0) return { pods: [...pods, ...times(d.scaleNum, notReadyNew)], created: d.scaleNum, deleted: [] };
  const specified = chooseSpecifiedToDelete(set, pods, NEW, d.deleteReadyLimit, NOW);
  const victims = specified.pods.length > 0 ? specified.pods
    : chooseScaleInVictims(set, pods, d, NEW, specified.remainingLimit, NOW).pods;
  const gone = new Set(victims.map((v) => v.metadata.name));
  return { pods: pods.filter((x) => !gone.has(x.metadata.name)), created: 0, deleted: [...gone].map(String) };
}

function markReady(pod: Pod): void {
  pod.status!.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: '2021-05-19T11:50:00Z' }];
}

describe('§3.4 worked examples (replicas 5, one revision, partition 0)', () => {
  it('should delete pod-b at once with maxUnavailable=2, maxSurge=1 and pod-a unavailable, then replace it', () => {
    const set = cs(5, 0, 2, 1);
    const podA = createTestPod(NEW, 'Normal', false, false, 'pod-a');
    const podB = createTestPod(NEW, 'Normal', true, true, 'pod-b');
    const pods = [podA, podB, ...times(3, readyNew)];
    assert.deepEqual(calculateDiffs(set, pods, NEW, NEW, GATES_DEFAULT, NOW), { ...EMPTY_DIFFS, deleteReadyLimit: 1 });
    const r1 = scaleRound(set, pods);
    assert.deepEqual(r1.deleted, ['pod-b']);
    const r2 = scaleRound(set, r1.pods);
    assert.equal(r2.created, 1);
    assert.equal(r2.pods.length, 5);
  });

  it('should create a surge Pod first with maxUnavailable=1, maxSurge=1, wait for it, then delete pod-b', () => {
    const set = cs(5, 0, 1, 1);
    const podA = createTestPod(NEW, 'Normal', false, false, 'pod-a');
    const podB = createTestPod(NEW, 'Normal', true, true, 'pod-b');
    const start = [podA, podB, ...times(3, readyNew)];
    assert.deepEqual(calculateDiffs(set, start, NEW, NEW, GATES_DEFAULT, NOW), { ...EMPTY_DIFFS, scaleNum: 1, useSurge: 1 });
    const r1 = scaleRound(set, start);
    assert.equal(r1.created, 1);
    // 6 Pods, the new one not ready: no budget, wait.
    assert.deepEqual(calculateDiffs(set, r1.pods, NEW, NEW, GATES_DEFAULT, NOW), { ...EMPTY_DIFFS, useSurge: 1 });
    const r2 = scaleRound(set, r1.pods);
    assert.deepEqual([r2.created, r2.deleted], [0, []]);
    markReady(r1.pods[5]!);
    assert.deepEqual(calculateDiffs(set, r1.pods, NEW, NEW, GATES_DEFAULT, NOW), { ...EMPTY_DIFFS, useSurge: 1, deleteReadyLimit: 1 });
    const r3 = scaleRound(set, r1.pods);
    assert.deepEqual(r3.deleted, ['pod-b']);
    assert.deepEqual(calculateDiffs(set, r3.pods, NEW, NEW, GATES_DEFAULT, NOW), EMPTY_DIFFS);
  });

  it('should delete an unavailable specified pod-a without consuming budget, then replace it', () => {
    const set = cs(5, 0, 1, 1);
    const podA = createTestPod(NEW, 'Normal', false, true, 'pod-a');
    const pods = [podA, ...times(4, readyNew)];
    assert.deepEqual(calculateDiffs(set, pods, NEW, NEW, GATES_DEFAULT, NOW), { ...EMPTY_DIFFS, deleteReadyLimit: 1 });
    const r1 = scaleRound(set, pods);
    assert.deepEqual(r1.deleted, ['pod-a']);
    assert.equal(scaleRound(set, r1.pods).created, 1);
  });
});

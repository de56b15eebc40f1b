/**
 * Status (spec §5.4, §5.5) with our currentRevision rule (spec/README.md, main): it advances when every Pod is
 * updated and their number equals spec.replicas, whether or not they are ready.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import { computeStatus, minReadyRequeueMs, statusNeedsUpdate } from '../../../../src/coordinator/cloneset/status.js';
import { NOW, createTestCloneSet, createTestPod, iso, times } from './fixtures.js';

const OLD = 'sample-old7f';
const NEW = 'sample-new9c';
const status = (replicas: number, pods: Pod[], minReadySeconds = 0) => {
  const cs = createTestCloneSet(replicas, 0, 1, 0);
  cs.spec.minReadySeconds = minReadySeconds;
  return computeStatus({ cloneSet: cs, pods, updateRevision: NEW, currentRevision: OLD, collisionCount: 0, now: NOW });
};

describe('computeStatus (§5.5)', () => {
  it('should count replicas, ready, available, updated and updated-ready Pods', () => {
    const inPlace = createTestPod(NEW);
    inPlace.status!.conditions!.push({ type: 'InPlaceUpdateReady', status: 'False' });
    const s = status(5, [createTestPod(NEW), createTestPod(NEW, 'Normal', false), inPlace, createTestPod(OLD), createTestPod(OLD, 'Updating')]);
    assert.deepEqual({ ...s }, {
      replicas: 5, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, updatedReadyReplicas: 1,
      observedGeneration: 1, updateRevision: NEW, currentRevision: OLD, collisionCount: 0, labelSelector: 'app=sample',
    });
  });
  it('should count available Pods only after minReadySeconds', () => {
    assert.equal(status(2, times(2, () => createTestPod(NEW)), 3600).availableReplicas, 0);
    assert.equal(status(2, times(2, () => createTestPod(NEW)), 60).availableReplicas, 2);
  });
  it('should advance currentRevision when all Pods are updated and their count equals spec.replicas, ready or not', () => {
    assert.equal(status(3, [createTestPod(NEW), createTestPod(NEW, 'Normal', false), createTestPod(NEW)]).currentRevision, NEW);
  });
  it('should keep currentRevision while a Pod is old', () => {
    assert.equal(status(3, [createTestPod(NEW), createTestPod(NEW), createTestPod(OLD)]).currentRevision, OLD);
  });
  it('should keep currentRevision while the Pod count differs from spec.replicas (v0.9.0 converged on 0 Pods)', () => {
    assert.equal(status(3, []).currentRevision, OLD);
    assert.equal(status(3, times(2, () => createTestPod(NEW))).currentRevision, OLD);
  });
});

describe('statusNeedsUpdate (§5.5)', () => {
  const base = status(1, [createTestPod(NEW)]);
  it('should write when a counter, a revision or the generation changed, and not otherwise', () => {
    assert.equal(statusNeedsUpdate(base, { ...base }), false);
    assert.equal(statusNeedsUpdate(base, { ...base, readyReplicas: 0 }), true);
    assert.equal(statusNeedsUpdate(base, { ...base, currentRevision: 'x' }), true);
    assert.equal(statusNeedsUpdate(base, { ...base, observedGeneration: 2 }), true);
    assert.equal(statusNeedsUpdate(undefined, base), true);
  });
});

describe('minReadyRequeueMs', () => {
  it('should return the time until the first ready Pod becomes available', () => {
    const cs = createTestCloneSet(1, 0, 1, 0);
    cs.spec.minReadySeconds = 900;
    const pod = createTestPod(NEW);
    pod.status!.conditions![0]!.lastTransitionTime = iso(NOW - 600_000);
    assert.equal(minReadyRequeueMs(cs, [pod], NOW), 300_000);
    cs.spec.minReadySeconds = 0;
    assert.equal(minReadyRequeueMs(cs, [pod], NOW), undefined);
  });
});

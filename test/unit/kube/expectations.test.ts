import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ControllerExpectations, compareResourceVersions } from '../../../src/kube/expectations.js';

const MIN = 60_000;

describe('ControllerExpectations', () => {
  it('should be satisfied for an owner with nothing expected', () => {
    const e = new ControllerExpectations();
    assert.deepEqual(e.satisfied('default/cs', 0), { satisfied: true });
  });

  it('should wait for every expected creation to be observed', () => {
    const e = new ControllerExpectations();
    e.expectCreations('default/cs', ['cs-a', 'cs-b'], 1_000);
    const r = e.satisfied('default/cs', 1_000 + MIN);
    assert.equal(r.satisfied, false);
    assert.equal(r.timedOut, false);
    assert.equal(r.remainingMs, 4 * MIN, 'requeue after timeout − elapsed');
    assert.deepEqual(r.pending?.create, ['cs-a', 'cs-b']);
    e.creationObserved('default/cs', 'cs-a');
    assert.equal(e.satisfied('default/cs', 2_000).satisfied, false);
    e.creationObserved('default/cs', 'cs-b');
    assert.deepEqual(e.satisfied('default/cs', 2_000), { satisfied: true });
    assert.deepEqual(e.ownerKeys(), [], 'satisfied owners leave nothing behind');
  });

  it('should roll back a creation whose API call failed', () => {
    const e = new ControllerExpectations();
    e.expectCreations('default/cs', ['cs-a'], 0);
    e.creationFailed('default/cs', 'cs-a');
    assert.equal(e.satisfied('default/cs', 0).satisfied, true);
  });

  it('should wait for deletions, and count a terminating object as deleted', () => {
    const e = new ControllerExpectations();
    e.expectDeletions('default/cs', ['cs-a', 'cs-b'], 0);
    e.deletionObserved('default/cs', 'cs-a'); // e.g. deletionTimestamp seen on an update event
    assert.deepEqual(e.satisfied('default/cs', 10).pending?.delete, ['cs-b']);
    e.deletionFailed('default/cs', 'cs-b');
    assert.equal(e.satisfied('default/cs', 10).satisfied, true);
  });

  it('should report timedOut once the owner stayed unsatisfied for 5 minutes', () => {
    const e = new ControllerExpectations();
    e.expectCreations('default/cs', ['cs-a'], 0);
    assert.equal(e.satisfied('default/cs', 5 * MIN - 1).timedOut, false);
    const r = e.satisfied('default/cs', 5 * MIN);
    assert.equal(r.satisfied, false);
    assert.equal(r.timedOut, true);
    assert.equal(r.remainingMs, undefined);
  });

  it('should count the timeout from the first pending expectation, not the latest', () => {
    const e = new ControllerExpectations({ timeoutMs: 1_000 });
    e.expectCreations('o', ['a'], 0);
    e.expectCreations('o', ['b'], 900);
    assert.equal(e.satisfied('o', 950).remainingMs, 50);
    e.creationObserved('o', 'a');
    e.creationObserved('o', 'b');
    e.expectCreations('o', ['c'], 2_000);
    assert.equal(e.satisfied('o', 2_100).remainingMs, 900, 'a fresh round starts a fresh clock');
  });

  it('should keep owners apart', () => {
    const e = new ControllerExpectations();
    e.expectCreations('ns/a', ['p'], 0);
    assert.equal(e.satisfied('ns/b', 0).satisfied, true);
    e.creationObserved('ns/b', 'p');
    assert.equal(e.satisfied('ns/a', 0).satisfied, false);
  });

  it('should keep instances apart (no module-level state)', () => {
    const one = new ControllerExpectations();
    const two = new ControllerExpectations();
    one.expectCreations('ns/a', ['p'], 0);
    assert.equal(two.satisfied('ns/a', 0).satisfied, true);
  });

  it('should wait until the cache shows at least the expected resourceVersion', () => {
    const e = new ControllerExpectations();
    e.expectResourceVersion('ns/cs', 'pod-a', '105', 0);
    e.observeResourceVersion('ns/cs', 'pod-a', '99');
    assert.deepEqual(e.satisfied('ns/cs', 1).pending?.resourceVersion, ['pod-a']);
    e.observeResourceVersion('ns/cs', 'pod-a', '1000');
    assert.equal(e.satisfied('ns/cs', 1).satisfied, true);
  });

  it('should keep the newest expected resourceVersion of an object', () => {
    const e = new ControllerExpectations();
    e.expectResourceVersion('o', 'p', '20', 0);
    e.expectResourceVersion('o', 'p', '10', 0);
    e.observeResourceVersion('o', 'p', '15');
    assert.equal(e.satisfied('o', 0).satisfied, false);
    e.observeResourceVersion('o', 'p', '20');
    assert.equal(e.satisfied('o', 0).satisfied, true);
  });

  it('should wait for an updated object to show the target revision', () => {
    const e = new ControllerExpectations();
    e.expectUpdate('ns/cs', 'pod-a', 'rev-2', 0);
    e.observeUpdate('ns/cs', 'pod-a', 'rev-1');
    assert.deepEqual(e.satisfied('ns/cs', 0).pending?.update, ['pod-a']);
    e.observeUpdate('ns/cs', 'pod-a', 'rev-2');
    assert.equal(e.satisfied('ns/cs', 0).satisfied, true);
  });

  it('should drop update expectations of an older revision when a new one is expected', () => {
    const e = new ControllerExpectations();
    e.expectUpdate('o', 'pod-a', 'rev-1', 0);
    e.expectUpdate('o', 'pod-b', 'rev-2', 10);
    assert.deepEqual(e.satisfied('o', 20).pending?.update, ['pod-b']);
    assert.equal(e.satisfied('o', 20).remainingMs, 300_000 - 10);
  });

  it('should clear update and resourceVersion expectations of a deleted object', () => {
    const e = new ControllerExpectations();
    e.expectUpdate('o', 'pod-a', 'rev-2', 0);
    e.expectResourceVersion('o', 'pod-a', '7', 0);
    e.deletionObserved('o', 'pod-a');
    assert.equal(e.satisfied('o', 0).satisfied, true);
  });

  it('should check only the kinds asked for, and delete kinds separately', () => {
    const e = new ControllerExpectations({ timeoutMs: 100 });
    e.expectResourceVersion('o', 'p', '5', 0);
    e.expectCreations('o', ['c'], 50);
    assert.equal(e.satisfied('o', 100, ['create', 'delete', 'update']).timedOut, false);
    assert.equal(e.satisfied('o', 100, ['resourceVersion']).timedOut, true);
    assert.equal(e.satisfied('o', 100).timedOut, true, 'all kinds: the oldest pending one counts');
    // CloneSet drops a timed-out resourceVersion expectation and carries on
    e.delete('o', ['resourceVersion']);
    assert.equal(e.satisfied('o', 100).remainingMs, 50);
    e.delete('o');
    assert.equal(e.satisfied('o', 100).satisfied, true);
    assert.deepEqual(e.ownerKeys(), []);
  });

  it('should ignore observations for owners it does not track', () => {
    const e = new ControllerExpectations();
    e.creationObserved('x', 'a');
    e.deletionObserved('x', 'a');
    e.observeUpdate('x', 'a', 'r');
    e.observeResourceVersion('x', 'a', '1');
    assert.deepEqual(e.ownerKeys(), []);
  });

  it('should reject a non-positive timeout', () => {
    assert.throws(() => new ControllerExpectations({ timeoutMs: 0 }), RangeError);
  });
});

describe('compareResourceVersions', () => {
  it('should compare decimal resourceVersions as integers of any size', () => {
    assert.equal(compareResourceVersions('9', '10'), -1);
    assert.equal(compareResourceVersions('10', '9'), 1);
    assert.equal(compareResourceVersions('10', '10'), 0);
    assert.equal(compareResourceVersions('18446744073709551617', '18446744073709551616'), 1);
  });

  it('should not order opaque resourceVersions that differ', () => {
    assert.equal(compareResourceVersions('abc', 'abd'), undefined);
    assert.equal(compareResourceVersions('abc', 'abc'), 0);
  });
});

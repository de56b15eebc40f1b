/**
 * The ImagePullJob planner against spec §4.5: counting, upstream's messages, fan-out slots and order,
 * parallelism (nil → 1, IntValue "50%" → 0), activeDeadline, completion and TTL deletion. Scenario rows walk a job
 * through several reconciles, feeding each step's writes into the next.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import type { NodeImage } from '../../../../src/api/nodeimage-types.js';
import {
  classifyNode, formatOneDecimal, parallelismOf, planImagePullJob, progressMessage,
} from '../../../../src/coordinator/imagepulljob/imagepulljob-planner.js';
import { addJobToNodeImage, desiredJobTag } from '../../../../src/coordinator/imagepulljob/nodeimage-tag-sync.js';
import { at, iso, makeJob, makeNodeImage, nodeIn, owner } from './fixtures.js';

const IMAGE = { name: 'nginx', tag: '1.9.1' };
const plan = (job: ImagePullJob, targets: NodeImage[], now = at(10), owned: NodeImage[] = []) => planImagePullJob({
  job, desired: desiredJobTag(job, IMAGE, []), targets, now, owned,
});

describe('planImagePullJob: counting and messages', () => {
  const rows: { name: string; states: Parameters<typeof nodeIn>[1][]; type?: 'Always' | 'Never'; want: { desired: number; active: number; succeeded: number; failed: number; message: string; completed: boolean; failedNodes?: string[] } }[] = [
    { name: 'nothing synced yet', states: ['notSynced', 'notSynced', 'notSynced'], want: { desired: 3, active: 0, succeeded: 0, failed: 0, message: 'job is running, progress 0.0%', completed: false } },
    { name: 'one of three succeeded', states: ['succeeded', 'pulling', 'notSynced'], want: { desired: 3, active: 1, succeeded: 1, failed: 0, message: 'job is running, progress 33.3%', completed: false } },
    { name: 'two of three finished, one failed', states: ['succeeded', 'failed', 'pulling'], want: { desired: 3, active: 1, succeeded: 1, failed: 1, message: 'job is running, progress 66.7%', completed: false, failedNodes: ['n1'] } },
    { name: 'all finished completes the job', states: ['failed', 'succeeded', 'failed'], want: { desired: 3, active: 0, succeeded: 1, failed: 2, message: 'job has completed', completed: true, failedNodes: ['n0', 'n2'] } },
    { name: 'a Never job never completes', type: 'Never', states: ['succeeded', 'succeeded'], want: { desired: 2, active: 0, succeeded: 2, failed: 0, message: 'job is running, progress 100.0%', completed: false } },
    { name: 'an Always job with no targets completes at once', states: [], want: { desired: 0, active: 0, succeeded: 0, failed: 0, message: 'job has completed', completed: true } },
    { name: 'a Never job with no targets has no progress', type: 'Never', states: [], want: { desired: 0, active: 0, succeeded: 0, failed: 0, message: 'job is running, no progress', completed: false } },
    { name: 'an owned tag without a status yet counts as pulling (not nowhere, as upstream)', states: ['noStatus', 'notSynced'], want: { desired: 2, active: 1, succeeded: 0, failed: 0, message: 'job is running, progress 0.0%', completed: false } },
  ];
  for (const r of rows) {
    it(`should count: ${r.name}`, () => {
      const job = makeJob({ completionPolicy: { type: r.type ?? 'Always' }, parallelism: 0 });
      const p = plan(job, r.states.map((s, i) => nodeIn(`n${i}`, s)));
      assert.equal(p.status.desired, r.want.desired);
      assert.equal(p.status.active, r.want.active);
      assert.equal(p.status.succeeded, r.want.succeeded);
      assert.equal(p.status.failed, r.want.failed);
      assert.equal(p.status.message, r.want.message);
      assert.equal(p.status.completionTime !== undefined, r.want.completed);
      assert.deepEqual(p.status.failedNodes, r.want.failedNodes);
      assert.equal(p.status.startTime, iso(10));
    });
  }

  it('should count a tag whose status is of another version as pulling', () => {
    const ni = nodeIn('n', 'succeeded');
    ni.spec.images!['nginx']!.tags[0]!.version = 1;
    assert.equal(classifyNode(ni, IMAGE, 'job-uid'), 'pulling');
  });

  it('should count a tag owned by another job only as not synced', () => {
    assert.equal(classifyNode(nodeIn('n', 'succeeded', 'other'), IMAGE, 'job-uid'), 'notSynced');
  });

  it('should format progress with one decimal, ties to even like Go', () => {
    assert.equal(progressMessage(1, 3), 'job is running, progress 33.3%');
    assert.equal(formatOneDecimal(100 * 2, 3), '66.7');
    assert.equal(formatOneDecimal(100 * 49, 400), '12.2');
    assert.equal(formatOneDecimal(100 * 51, 400), '12.8');
    assert.equal(formatOneDecimal(100 * 5, 5), '100.0');
  });

  it('should report the status unchanged when nothing moved', () => {
    const job = makeJob({}, { startTime: iso(0), desired: 1, active: 1, succeeded: 0, failed: 0, message: 'job is running, progress 0.0%' });
    const p = plan(job, [nodeIn('n0', 'pulling')]);
    assert.equal(p.statusChanged, false);
    assert.equal(p.status.startTime, iso(0));
  });
});

describe('planImagePullJob: fan-out', () => {
  it('should read parallelism nil as 1, "5" as 5, "50%" as 0 (paused)', () => {
    assert.equal(parallelismOf(makeJob({})), 1);
    assert.equal(parallelismOf(makeJob({ parallelism: '5' })), 5);
    assert.equal(parallelismOf(makeJob({ parallelism: '50%' })), 0);
    assert.equal(parallelismOf(makeJob({ parallelism: 3 })), 3);
    const states = ['notSynced', 'notSynced'] as const;
    assert.deepEqual(plan(makeJob({}), states.map((s, i) => nodeIn(`n${i}`, s))).sync, ['n0']);
    assert.deepEqual(plan(makeJob({ parallelism: '50%' }), states.map((s, i) => nodeIn(`n${i}`, s))).sync, []);
  });

  it('should fill only the free slots, in target order', () => {
    const targets = [nodeIn('a', 'pulling'), nodeIn('b', 'notSynced'), nodeIn('c', 'succeeded'), nodeIn('d', 'notSynced'), nodeIn('e', 'notSynced')];
    assert.deepEqual(plan(makeJob({ parallelism: 3 }), targets).sync, ['b', 'd']);
    assert.deepEqual(plan(makeJob({ parallelism: 1 }), targets).sync, []);
  });

  it('should walk six nodes with parallelism 2, never more than two pulling, filling freed slots (scenario)', () => {
    const job = makeJob({ parallelism: 2 });
    const d = desiredJobTag(job, IMAGE, []);
    let nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((n) => makeNodeImage(n));
    const finish = (name: string, phase: 'Succeeded' | 'Failed'): void => {
      nodes = nodes.map((ni) => ni.metadata.name !== name ? ni : {
        ...ni, status: { desired: 1, succeeded: 0, failed: 0, pulling: 0, imageStatuses: { nginx: { tags: [{ tag: '1.9.1', phase, version: 0, completionTime: iso(20) }] } } },
      });
    };
    const step = (expectSync: string[], expectActive: number): void => {
      const p = plan(job, nodes, at(30));
      assert.deepEqual(p.sync, expectSync);
      assert.equal(p.status.active, expectActive);
      nodes = nodes.map((ni) => p.sync.includes(ni.metadata.name!) ? addJobToNodeImage(ni, d, at(30), () => 0)! : ni);
      const pulling = nodes.filter((ni) => classifyNode(ni, IMAGE, 'job-uid') === 'pulling').length;
      assert.ok(pulling <= 2, `at most 2 pulling, got ${pulling}`);
    };
    step(['n1', 'n2'], 0); // step 1/5: two slots
    step([], 2); // step 2/5: both busy
    finish('n1', 'Succeeded');
    step(['n3'], 1); // step 3/5: one slot freed
    finish('n2', 'Failed');
    finish('n3', 'Succeeded');
    step(['n4', 'n5'], 0);
    finish('n4', 'Succeeded');
    finish('n5', 'Succeeded');
    step(['n6'], 0);
    finish('n6', 'Succeeded');
    const last = plan(job, nodes, at(30));
    assert.equal(last.status.message, 'job has completed');
    assert.deepEqual(last.status.failedNodes, ['n2']);
    assert.equal(last.status.succeeded, 5);
  });

  it('should sync nothing after the job completed', () => {
    const job = makeJob({}, { startTime: iso(0), completionTime: iso(5), desired: 1, active: 0, succeeded: 1, failed: 0, message: 'job has completed' });
    const p = plan(job, [nodeIn('n0', 'notSynced')]);
    assert.deepEqual(p.sync, []);
    assert.equal(p.statusChanged, false);
  });
});

describe('planImagePullJob: deadlines and TTL', () => {
  it('should complete a job past activeDeadlineSeconds, failing every unfinished node', () => {
    const job = makeJob({ completionPolicy: { type: 'Always', activeDeadlineSeconds: 50 } }, { startTime: iso(0), desired: 3, active: 1, succeeded: 0, failed: 0 });
    const p = plan(job, [nodeIn('a', 'succeeded'), nodeIn('b', 'failed'), nodeIn('c', 'pulling'), nodeIn('d', 'notSynced')], at(50));
    assert.equal(p.status.message, 'job exceeds activeDeadlineSeconds');
    assert.equal(p.status.completionTime, iso(50));
    assert.equal(p.status.active, 0);
    assert.equal(p.status.succeeded, 1);
    assert.equal(p.status.failed, 3);
    assert.deepEqual(p.status.failedNodes, ['b', 'c', 'd']);
    assert.deepEqual(p.sync, []);
  });

  it('should requeue for the remaining active deadline, at least 1 s', () => {
    const job = makeJob({ completionPolicy: { type: 'Always', activeDeadlineSeconds: 50 } }, { startTime: iso(0), desired: 1, active: 1, succeeded: 0, failed: 0 });
    assert.equal(plan(job, [nodeIn('a', 'pulling')], at(20)).requeueAfterMs, 30_000);
    assert.equal(plan(job, [nodeIn('a', 'pulling')], at(49.9)).requeueAfterMs, 1000);
  });

  it('should ignore activeDeadlineSeconds on a Never job', () => {
    const job = makeJob({ completionPolicy: { type: 'Never', activeDeadlineSeconds: 5 } }, { startTime: iso(0), desired: 1, active: 1, succeeded: 0, failed: 0 });
    const p = plan(job, [nodeIn('a', 'pulling')], at(100));
    assert.equal(p.status.completionTime, undefined);
  });

  const done = { startTime: iso(0), completionTime: iso(10), desired: 1, active: 0, succeeded: 1, failed: 0, message: 'job has completed' };
  const ttlRows: { name: string; ttl?: number; now: number; deleteJob: boolean; requeue?: number }[] = [
    { name: 'TTL elapsed deletes the job', ttl: 20, now: at(30), deleteJob: true },
    { name: 'TTL not elapsed requeues for the rest', ttl: 20, now: at(25), deleteJob: false, requeue: 5000 },
    { name: 'no TTL: nothing more, ever', now: at(10_000), deleteJob: false },
  ];
  for (const r of ttlRows) {
    it(`should handle a completed job: ${r.name}`, () => {
      const job = makeJob({ completionPolicy: { type: 'Always', ...(r.ttl !== undefined ? { ttlSecondsAfterFinished: r.ttl } : {}) } }, done);
      const p = plan(job, [nodeIn('a', 'succeeded')], r.now);
      assert.equal(p.deleteJob, r.deleteJob);
      assert.equal(p.requeueAfterMs, r.requeue);
      assert.equal(p.statusChanged, false);
    });
  }

  it('should requeue for the TTL when the job completes now', () => {
    const job = makeJob({ completionPolicy: { type: 'Always', ttlSecondsAfterFinished: 7 } });
    assert.equal(plan(job, [nodeIn('a', 'succeeded')], at(10)).requeueAfterMs, 7000);
  });
});

describe('planImagePullJob: edits of a running job', () => {
  it('should refresh an in-flight tag whose timeout the job no longer has', () => {
    const job = makeJob({ pullPolicy: { timeoutSeconds: 30, backoffLimit: 3 } });
    const p = plan(job, [nodeIn('a', 'pulling'), nodeIn('b', 'succeeded')]);
    assert.deepEqual(p.refresh, ['a']);
  });

  it('should release tags of an image the job no longer pulls', () => {
    const old = makeNodeImage('a', [{ tag: '1.9.0', version: 0, createdAt: iso(0), ownerReferences: [owner()] }]);
    const p = plan(makeJob({}), [old], at(10), [old]);
    assert.deepEqual(p.release, ['a']);
  });
});

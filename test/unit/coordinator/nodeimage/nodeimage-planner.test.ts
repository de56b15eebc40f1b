/**
 * The NodeImage planner against spec §4.4: one NodeImage per Node (labels copied, deleted with the Node, fake ones
 * kept), per-tag garbage collection (owners gone, TTL after completion of the same version), the agent
 * supervision with its exact messages, events, and the requeue at the nearest deadline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageTagSpec, NodeImage } from '../../../../src/api/nodeimage-types.js';
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import {
  gcNodeImageSpec, planNodeImage, pullFailedMessage, superviseNodeImageStatus, type NodeLike, type OwnerJob,
} from '../../../../src/coordinator/nodeimage/nodeimage-planner.js';
import { mirroredSecretRefs } from '../../../../src/coordinator/imagepulljob/secret-mirror.js';
import { at, iso, makeJob, makeNodeImage, owner } from '../imagepulljob/fixtures.js';

const node = (labels: Record<string, string> = { 'kubernetes.io/hostname': 'n1' }, deleting = false): NodeLike => ({
  metadata: { name: 'n1', labels, ...(deleting ? { deletionTimestamp: iso(0) } : {}) },
});
const jobs = (...list: ImagePullJob[]): Map<string, OwnerJob> => new Map(list.map((j) => [`${j.metadata.namespace}/${j.metadata.name}`, j]));
const tag = (t: Partial<ImageTagSpec> = {}): ImageTagSpec => ({
  tag: '1.9.1', version: 0, createdAt: iso(0), ownerReferences: [owner()],
  pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 100 }, ...t,
});
const withLabels = (ni: NodeImage): NodeImage => ({ ...ni, metadata: { ...ni.metadata, name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } });
const plan = (n: NodeLike | undefined, ni: NodeImage | undefined, now = at(10), j = jobs(makeJob())) =>
  planNodeImage({ nodeName: 'n1', node: n, nodeImage: ni, jobs: j, now, jitter: 0 });

describe('planNodeImage: one NodeImage per Node', () => {
  it('should create an empty NodeImage with the Node name and labels', () => {
    assert.deepEqual(plan(node({ a: 'b' }), undefined).actions, [{
      type: 'create', nodeImage: { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'n1', labels: { a: 'b' } }, spec: {} },
    }]);
  });
  it('should copy changed Node labels exactly', () => {
    const ni = withLabels(makeNodeImage('n1'));
    ni.metadata.labels = { old: 'x', 'kubernetes.io/hostname': 'n1' };
    assert.deepEqual(plan(node(), ni).actions, [{ type: 'updateSpec', labels: { 'kubernetes.io/hostname': 'n1' }, spec: {} }]);
  });
  it('should delete the NodeImage of a Node that is gone or terminating', () => {
    const ni = withLabels(makeNodeImage('n1'));
    assert.deepEqual(plan(undefined, ni).actions, [{ type: 'delete', name: 'n1' }]);
    assert.deepEqual(plan(node(undefined, true), ni).actions, [{ type: 'delete', name: 'n1' }]);
  });
  it('should keep a NodeImage labelled apps.kruise.io/fake-nodeimage without a Node, and still supervise it', () => {
    const ni = makeNodeImage('n1', [tag()], undefined, { 'apps.kruise.io/fake-nodeimage': 'true' });
    const p = plan(undefined, ni, at(61));
    assert.equal(p.actions.length, 1);
    assert.equal(p.actions[0]!.type, 'updateStatus');
  });
  it('should do nothing without Node and NodeImage', () => {
    assert.deepEqual(plan(undefined, undefined), { actions: [] });
  });
});

describe('gcNodeImageSpec', () => {
  const rows: { name: string; tags: ImageTagSpec[]; status?: Parameters<typeof makeNodeImage>[2]; jobs: Map<string, OwnerJob>; now?: number; want: string[] }[] = [
    { name: 'a tag without createdAt goes', tags: [tag({ createdAt: undefined })], jobs: jobs(makeJob()), want: [] },
    { name: 'a tag whose job is gone goes', tags: [tag()], jobs: jobs(), want: [] },
    { name: 'a tag whose job has another uid goes', tags: [tag()], jobs: jobs(makeJob({}, undefined, 'new-uid')), want: [] },
    { name: 'a tag owned by another kind stays', tags: [tag({ ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'y' }] })], jobs: jobs(), want: ['1.9.1'] },
    { name: 'a tag with an existing job stays', tags: [tag()], jobs: jobs(makeJob()), want: ['1.9.1'] },
    { name: 'a tag past its TTL after completion of the same version goes', tags: [tag()], status: [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(5) }], jobs: jobs(makeJob()), now: at(105), want: [] },
    { name: 'a tag within its TTL stays', tags: [tag()], status: [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(5) }], jobs: jobs(makeJob()), now: at(104), want: ['1.9.1'] },
    { name: 'a completion of another version does not start the TTL', tags: [tag({ version: 1 })], status: [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(5) }], jobs: jobs(makeJob()), now: at(1000), want: ['1.9.1'] },
  ];
  for (const r of rows) {
    it(`should collect: ${r.name}`, () => {
      const out = gcNodeImageSpec(makeNodeImage('n1', r.tags, r.status), r.jobs, r.now ?? at(10));
      assert.deepEqual((out.spec.images?.['nginx']?.tags ?? []).map((t) => t.tag), r.want);
      assert.equal(out.changed, r.want.length !== r.tags.length);
      if (r.want.length === 0) assert.equal(out.spec.images, undefined, 'images without tags go');
    });
  }
  it('should drop only the owner refs of gone jobs from a shared tag', () => {
    const out = gcNodeImageSpec(makeNodeImage('n1', [tag({ ownerReferences: [owner('gone', 'old'), owner()] })]), jobs(makeJob()), at(10));
    assert.deepEqual(out.spec.images!['nginx']!.tags[0]!.ownerReferences, [owner()]);
    assert.equal(out.changed, true);
  });
  it('should drop Secret copies in kruise-system that no remaining owner mirrors, and keep other references', () => {
    const j = makeJob({ pullSecrets: ['regcred'] });
    const ni = makeNodeImage('n1', [tag()]);
    ni.spec.images!['nginx']!.pullSecrets = [...mirroredSecretRefs(j), { namespace: 'kruise-system', name: 'stale' }, { namespace: 'default', name: 'legacy' }];
    const out = gcNodeImageSpec(ni, jobs(j), at(10));
    assert.deepEqual(out.spec.images!['nginx']!.pullSecrets, [...mirroredSecretRefs(j), { namespace: 'default', name: 'legacy' }]);
  });
});

describe('superviseNodeImageStatus', () => {
  it('should fail a tag the node has not answered 60 s after createdAt, with upstream message and owners', () => {
    const sup = superviseNodeImageStatus(makeNodeImage('n1', [tag({ version: 2 })]), at(60), 60_000);
    assert.deepEqual(sup.status.imageStatuses, { nginx: { tags: [{ tag: '1.9.1', phase: 'Failed', completionTime: iso(60), version: 2, message: 'node has not responded for a long time' }] } });
    assert.deepEqual([sup.status.desired, sup.status.succeeded, sup.status.failed, sup.status.pulling], [1, 0, 1, 0]);
    assert.deepEqual(sup.failures, [{ imageName: 'nginx', tag: '1.9.1', message: 'node has not responded for a long time', owners: [owner()] }]);
    assert.equal(pullFailedMessage('n1', sup.failures[0]!), 'Failed to pull image nginx:1.9.1 on node n1 for node has not responded for a long time');
  });
  it('should count a status of an older version as no answer', () => {
    const ni = makeNodeImage('n1', [tag({ version: 1 })], [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(1) }]);
    assert.equal(superviseNodeImageStatus(ni, at(59), 60_000).changed, false);
    assert.equal(superviseNodeImageStatus(ni, at(60), 60_000).status.imageStatuses!['nginx']!.tags[0]!.message, 'node has not responded for a long time');
  });
  it('should fail a pull running past activeDeadlineSeconds + 60 s', () => {
    const ni = makeNodeImage('n1', [tag({ pullPolicy: { ttlSecondsAfterFinished: 100, activeDeadlineSeconds: 30 } })], [{ tag: '1.9.1', phase: 'Pulling', version: 0, startTime: iso(1) }]);
    assert.equal(superviseNodeImageStatus(ni, at(89), 60_000).changed, false);
    const sup = superviseNodeImageStatus(ni, at(90), 60_000);
    assert.deepEqual(sup.status.imageStatuses!['nginx']!.tags[0], { tag: '1.9.1', phase: 'Failed', version: 0, startTime: iso(1), completionTime: iso(90), message: 'pulling exceeds the activeDeadlineSeconds' });
  });
  it('should drop statuses of tags not in the spec and recompute counters', () => {
    const ni = makeNodeImage('n1', [tag()], [
      { tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(1) },
      { tag: 'gone', phase: 'Pulling', version: 0 },
    ]);
    const sup = superviseNodeImageStatus(ni, at(10), 60_000);
    assert.deepEqual(sup.status.imageStatuses!['nginx']!.tags.map((t) => t.tag), ['1.9.1']);
    assert.deepEqual([sup.status.desired, sup.status.succeeded, sup.status.failed, sup.status.pulling], [1, 1, 0, 0]);
    assert.deepEqual(sup.failures, []);
  });
});

describe('planNodeImage: rounds and requeue', () => {
  it('should stop the round after a spec change, before supervising', () => {
    const ni = withLabels(makeNodeImage('n1', [tag()]));
    const p = plan(node(), ni, at(100), jobs());
    assert.equal(p.actions.length, 1);
    assert.equal(p.actions[0]!.type, 'updateSpec');
  });
  it('should requeue at the response deadline, at least 3 s, plus jitter', () => {
    const ni = withLabels(makeNodeImage('n1', [tag()]));
    assert.equal(plan(node(), ni, at(10)).requeueAfterMs, 50_000);
    assert.equal(plan(node(), ni, at(59)).requeueAfterMs, 3000);
    const jittered = planNodeImage({ nodeName: 'n1', node: node(), nodeImage: ni, jobs: jobs(makeJob()), now: at(10), jitter: 0.5 });
    assert.equal(jittered.requeueAfterMs, 51_000);
  });
  it('should requeue for the TTL of a finished tag and not at all when nothing is pending', () => {
    const done = withLabels(makeNodeImage('n1', [tag()], [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(5) }]));
    assert.deepEqual(plan(node(), done, at(10)), { actions: [], requeueAfterMs: 95_000 });
    assert.deepEqual(plan(node(), withLabels(makeNodeImage('n1')), at(10)), { actions: [] });
  });
  it('should emit the failure with the status write', () => {
    const ni = withLabels(makeNodeImage('n1', [tag()]));
    const p = plan(node(), ni, at(61));
    const a = p.actions[0]!;
    assert.equal(a.type, 'updateStatus');
    if (a.type === 'updateStatus') assert.equal(a.failures[0]!.message, 'node has not responded for a long time');
  });
});

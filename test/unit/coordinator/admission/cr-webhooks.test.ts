/**
 * Defaulting and validation webhooks of CloneSet, ImagePullJob, NodeImage and SidecarSet (spec §3.1, §4.2, §4.3,
 * §7.1): mutating webhooks answer with a JSON patch to the defaulted object; validating webhooks deny with field
 * errors and the spec's HTTP codes (CloneSet 422, ImagePullJob/NodeImage 400, SidecarSet 500); KruiseDaemon off
 * rejects ImagePullJob and NodeImage with 403.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultCloneSet, defaultImagePullJob, defaultNodeImage, defaultSidecarSet, type KubeObject,
} from '../../../../src/api/index.js';
import { buildHandlers, type AdmissionResponse } from '../../../../src/coordinator/admission/index.js';
import { applyJsonPatch } from '../../../../src/sandbox/apiserver/admission/json-patch.js';
import { cloneSet, imagePullJob, nodeImage, sidecarSet } from './fixtures.js';
import { ctx, fakeLookups, gates, pod, review, type FakeCluster } from './helpers.js';

const handlers = (cluster: FakeCluster = {}, flag = '') => buildHandlers({ gates: gates(flag), lookups: fakeLookups(cluster) });

function applied(obj: KubeObject, r: AdmissionResponse): KubeObject {
  assert.equal(r.allowed, true, JSON.stringify(r.status));
  return applyJsonPatch(obj, (r.patch ?? []) as never);
}

function deniedWith(r: AdmissionResponse, code: number, ...details: string[]): void {
  assert.equal(r.allowed, false, 'expected a denial');
  assert.equal(r.status?.code, code, r.status?.message);
  for (const d of details) assert.ok(r.status?.message.includes(d), `${JSON.stringify(r.status?.message)} should contain ${JSON.stringify(d)}`);
  const causes = r.status?.details?.causes ?? [];
  assert.ok(causes.length > 0, 'field errors are given as causes');
  // kubectl prints `field: message` from each cause, so the message must not carry the field again.
  for (const c of causes) assert.ok(c.field && !c.message?.startsWith(`${c.field}:`), `cause ${JSON.stringify(c)} repeats its field`);
}

describe('mutating webhooks', () => {
  it('patches a CloneSet to its defaults on CREATE', async () => {
    const cs = cloneSet({ replicas: undefined as never });
    const r = await handlers()['cloneset-mutating'](review('CloneSet', 'CREATE', cs), ctx());
    assert.deepEqual(applied(cs, r), defaultCloneSet(cs));
    assert.equal((applied(cs, r) as unknown as { spec: { replicas: number } }).spec.replicas, 1);
  });

  it('patches an ImagePullJob on UPDATE and leaves parallelism alone', async () => {
    const job = imagePullJob({ parallelism: undefined as never });
    const r = await handlers()['imagepulljob-mutating'](review('ImagePullJob', 'UPDATE', job, job), ctx());
    const out = applied(job, r) as unknown as ReturnType<typeof defaultImagePullJob>;
    assert.deepEqual(out, defaultImagePullJob(job));
    assert.deepEqual(out.spec.pullPolicy, { timeoutSeconds: 600, backoffLimit: 3 });
    assert.equal(out.spec.parallelism, undefined);
  });

  it('stamps createdAt from the context clock on NodeImage tags', async () => {
    const ni = nodeImage({ nginx: { tags: [{ tag: 'b', pullPolicy: { ttlSecondsAfterFinished: 1 } }, { tag: 'a', pullPolicy: { ttlSecondsAfterFinished: 1 } }] } } as never);
    const r = await handlers()['nodeimage-mutating'](review('NodeImage', 'CREATE', ni), ctx());
    const out = applied(ni, r);
    assert.deepEqual(out, defaultNodeImage(ni, '2024-05-01T10:00:00Z'));
  });

  it('patches a SidecarSet to its defaults', async () => {
    const set = sidecarSet();
    const r = await handlers()['sidecarset-mutating'](review('SidecarSet', 'CREATE', set), ctx());
    assert.deepEqual(applied(set, r), defaultSidecarSet(set));
  });

  it('answers an already defaulted object with no patch', async () => {
    const cs = defaultCloneSet(cloneSet());
    const r = await handlers()['cloneset-mutating'](review('CloneSet', 'CREATE', cs), ctx());
    assert.deepEqual(r, { allowed: true });
  });

  it('answers a CloneSet that is not an object with 400', async () => {
    const r = await handlers()['cloneset-mutating'](review('CloneSet', 'CREATE', 'x'), ctx());
    assert.deepEqual([r.allowed, r.status?.code], [false, 400]);
  });
});

describe('validating webhooks', () => {
  it('admits a valid CloneSet', async () => {
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'CREATE', defaultCloneSet(cloneSet())), ctx());
    assert.equal(r.allowed, true, r.status?.message);
  });

  it('denies maxSurge with InPlaceOnly with 422 and upstream text', async () => {
    const cs = defaultCloneSet(cloneSet({ updateStrategy: { type: 'InPlaceOnly', maxSurge: 1 } }));
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'CREATE', cs), ctx());
    deniedWith(r, 422, 'spec.updateStrategy.maxSurge', 'can not use maxSurge with strategy type InPlaceOnly');
  });

  it('denies maxUnavailable and maxSurge both below 1', async () => {
    const cs = defaultCloneSet(cloneSet({ updateStrategy: { maxUnavailable: 0, maxSurge: 0 } }));
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'CREATE', cs), ctx());
    deniedWith(r, 422, 'maxUnavailable and maxSurge should not both be less than 1');
  });

  it('denies an update of a CloneSet selector', async () => {
    const old = defaultCloneSet(cloneSet());
    const cs = defaultCloneSet(cloneSet({ selector: { matchLabels: { app: 'sample', x: 'y' } }, template: { metadata: { labels: { app: 'sample', x: 'y' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:alpine' }] } } }));
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'UPDATE', cs, old), ctx());
    deniedWith(r, 422, "updates to cloneset spec for fields other than 'replicas', 'template'");
  });

  const podsToDeleteCases: [string, FakeCluster, string | undefined][] = [
    ['admits podsToDelete naming a Pod owned by the CloneSet',
      { pods: [{ ...pod('default', 'p1', 'Running'), metadata: { namespace: 'default', name: 'p1', ownerReferences: [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'sample', uid: 'cs-uid', controller: true }] } }] },
      undefined],
    ['denies podsToDelete naming a missing Pod', {}, 'find pod p1 failed: pods "p1" not found'],
    ['denies podsToDelete naming a terminating Pod', { pods: [pod('default', 'p1', 'Running', { deletionTimestamp: '2024-01-01T00:00:00Z' })] }, 'find pod p1 already terminating'],
    ['denies podsToDelete naming a Pod of another owner', { pods: [pod('default', 'p1', 'Running')] }, 'find pod p1 owner is not this CloneSet'],
  ];
  for (const [name, cluster, detail] of podsToDeleteCases) {
    it(name, async () => {
      const cs = defaultCloneSet(cloneSet({ scaleStrategy: { podsToDelete: ['p1'] } }));
      const r = await handlers(cluster)['cloneset-validating'](review('CloneSet', 'CREATE', cs), ctx());
      if (detail === undefined) assert.equal(r.allowed, true, r.status?.message);
      else deniedWith(r, 422, 'spec.scaleStrategy.podsToDelete', detail);
    });
  }

  it('looks up only Pods newly added to podsToDelete', async () => {
    const old = defaultCloneSet(cloneSet({ scaleStrategy: { podsToDelete: ['gone'] } }));
    const cs = defaultCloneSet(cloneSet({ scaleStrategy: { podsToDelete: ['gone'] } }));
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'UPDATE', cs, old), ctx());
    assert.equal(r.allowed, true, r.status?.message);
  });

  it('warns about a mistyped protection label on a CloneSet it admits', async () => {
    const cs = defaultCloneSet(cloneSet({}, { labels: { 'policy.kruise.io/delete-protection': 'always' } }));
    const r = await handlers()['cloneset-validating'](review('CloneSet', 'CREATE', cs), ctx());
    assert.equal(r.allowed, true);
    assert.equal(r.warnings?.length, 1);
  });

  const ipjCases: [string, Partial<ReturnType<typeof imagePullJob>['spec']>, string][] = [
    ['denies an ImagePullJob without image', { image: '' }, 'image can not be empty'],
    ['denies an ImagePullJob with both names and a label selector', { selector: { names: ['a'], matchLabels: { a: 'b' } } }, 'can not set both names and labelSelector in this spec.selector'],
    ['denies an ImagePullJob with duplicated names', { selector: { names: ['a', 'a'] } }, 'duplicated name in selector names'],
    ['denies an ImagePullJob with both selector and podSelector', { selector: { names: ['a'] }, podSelector: { matchLabels: { a: 'b' } } }, 'can not set both selector and podSelector'],
    ['denies deadlines with the Never completion policy', { completionPolicy: { type: 'Never', activeDeadlineSeconds: 10 } }, 'activeDeadlineSeconds and ttlSecondsAfterFinished can only work with Always CompletionPolicyType'],
    ['denies an unknown completion policy type', { completionPolicy: { type: 'Sometimes' as never } }, 'unknown type of completionPolicy: Sometimes'],
    ['denies an image that is not a reference', { image: 'UPPER/Case' }, 'invalid image UPPER/Case'],
  ];
  for (const [name, spec, detail] of ipjCases) {
    it(name, async () => {
      const job = defaultImagePullJob(imagePullJob(spec));
      deniedWith(await handlers()['imagepulljob-validating'](review('ImagePullJob', 'CREATE', job), ctx()), 400, detail);
    });
  }

  it('admits a valid ImagePullJob', async () => {
    const r = await handlers()['imagepulljob-validating'](review('ImagePullJob', 'CREATE', defaultImagePullJob(imagePullJob())), ctx());
    assert.equal(r.allowed, true, r.status?.message);
  });

  const niCases: [string, unknown, string][] = [
    ['denies a NodeImage tag without pullPolicy.ttlSecondsAfterFinished', { nginx: { tags: [{ tag: 'a', createdAt: 'x', pullPolicy: {} }] } }, 'pullPolicy.ttlSecondsAfterFinished for nginx/a must set'],
    ['denies a duplicated NodeImage tag', { nginx: { tags: [{ tag: 'a', createdAt: 'x', pullPolicy: { ttlSecondsAfterFinished: 1 } }, { tag: 'a', createdAt: 'x', pullPolicy: { ttlSecondsAfterFinished: 1 } }] } }, 'duplicated tag a for image nginx'],
    ['denies a negative NodeImage version', { nginx: { tags: [{ tag: 'a', createdAt: 'x', version: -1, pullPolicy: { ttlSecondsAfterFinished: 1 } }] } }, 'version for nginx/a can not be less than 0'],
  ];
  for (const [name, images, detail] of niCases) {
    it(name, async () => {
      deniedWith(await handlers()['nodeimage-validating'](review('NodeImage', 'CREATE', nodeImage(images as never)), ctx()), 400, detail);
    });
  }

  it('denies more than 256 NodeImage images', async () => {
    const images = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`img${i}`, { tags: [] }]));
    deniedWith(await handlers()['nodeimage-validating'](review('NodeImage', 'CREATE', nodeImage(images)), ctx()), 400,
      'spec images length 257 can not be more than 256');
  });

  it('rejects ImagePullJob and NodeImage reviews with 403 when KruiseDaemon is off', async () => {
    const h = handlers({}, 'KruiseDaemon=false');
    for (const [key, kind, obj] of [
      ['imagepulljob-mutating', 'ImagePullJob', imagePullJob()], ['imagepulljob-validating', 'ImagePullJob', imagePullJob()],
      ['nodeimage-mutating', 'NodeImage', nodeImage()], ['nodeimage-validating', 'NodeImage', nodeImage()],
    ] as const) {
      const r = await h[key](review(kind, 'CREATE', obj), ctx());
      assert.deepEqual([r.allowed, r.status?.code, r.status?.message], [false, 403, 'feature-gate KruiseDaemon is not enabled'], key);
    }
  });

  it('admits a valid SidecarSet', async () => {
    const r = await handlers()['sidecarset-validating'](review('SidecarSet', 'CREATE', defaultSidecarSet(sidecarSet())), ctx());
    assert.equal(r.allowed, true, r.status?.message);
  });

  it('denies a SidecarSet without selector with 500, as upstream', async () => {
    const set = defaultSidecarSet(sidecarSet('x', { selector: undefined as never }));
    deniedWith(await handlers()['sidecarset-validating'](review('SidecarSet', 'CREATE', set), ctx()), 500, 'no selector defined for SidecarSet');
  });

  it('denies a SidecarSet whose container name exists in an overlapping SidecarSet', async () => {
    const other = defaultSidecarSet(sidecarSet('other'));
    const set = defaultSidecarSet(sidecarSet('mine'));
    const r = await handlers({ sidecarSets: [other] })['sidecarset-validating'](review('SidecarSet', 'CREATE', set), ctx());
    deniedWith(r, 500, 'container log-agent already exist in other');
  });

  it('ignores the SidecarSet itself among the listed ones on UPDATE', async () => {
    const set = defaultSidecarSet(sidecarSet('mine'));
    const r = await handlers({ sidecarSets: [set] })['sidecarset-validating'](review('SidecarSet', 'UPDATE', set, set), ctx());
    assert.equal(r.allowed, true, r.status?.message);
  });

  it('denies an upgradeType change on UPDATE', async () => {
    const old = defaultSidecarSet(sidecarSet());
    const set = structuredClone(old);
    set.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:1' };
    deniedWith(await handlers()['sidecarset-validating'](review('SidecarSet', 'UPDATE', set, old), ctx()), 500, 'container log-agent upgradeType is immutable');
  });

  it('fails the review when the SidecarSet list fails (the server turns it into a denial)', async () => {
    await assert.rejects(handlers({ fail: { listSidecarSets: 'apiserver down' } })['sidecarset-validating'](
      review('SidecarSet', 'CREATE', defaultSidecarSet(sidecarSet())), ctx()), /apiserver down/);
  });
});

/**
 * What a job writes into a NodeImage (spec §4.5 step 7): new tags and their versions, version bumps on shared
 * tags, TTL jitter ranges (Always: +300..599 s; Never: 24 h ± 10 min with activeDeadline 1800), Secret merging,
 * tag order, our `imagePullPolicy`, and the refresh/release of edited jobs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import {
  addJobToNodeImage, desiredJobTag, refreshJobTag, releaseJobFromOtherTags, tagPullPolicy,
} from '../../../../src/coordinator/imagepulljob/nodeimage-tag-sync.js';
import { at, iso, makeJob, makeNodeImage, owner } from './fixtures.js';

const IMAGE = { name: 'nginx', tag: '1.9.1' };
const SECRET = { namespace: 'kruise-system', name: 'default.warm.regcred-0123456789' };
const desired = (spec: Partial<ImagePullJob['spec']> = {}, uid = 'job-uid', secrets = [SECRET]) => desiredJobTag(makeJob(spec, undefined, uid), IMAGE, secrets);
const MAX_RANDOM = 0.9999999;

describe('tag pull policy', () => {
  const rows: { name: string; spec: Partial<ImagePullJob['spec']>; ttl: [number, number]; ads: number | undefined }[] = [
    { name: 'Always with ttlSecondsAfterFinished: ttl + 300..599', spec: { completionPolicy: { type: 'Always', ttlSecondsAfterFinished: 20, activeDeadlineSeconds: 50 } }, ttl: [320, 619], ads: 50 },
    { name: 'Always with only activeDeadlineSeconds: deadline + 300..599', spec: { completionPolicy: { type: 'Always', activeDeadlineSeconds: 50 } }, ttl: [350, 649], ads: 50 },
    { name: 'Always with neither: timeout × backoff (600 × 3) + 300..599', spec: {}, ttl: [2100, 2399], ads: undefined },
    { name: 'Always with a short pull policy: 50 × 2 + 300..599', spec: { pullPolicy: { timeoutSeconds: 50, backoffLimit: 2 } }, ttl: [400, 699], ads: undefined },
    { name: 'Never: 24 h ± 10 min, activeDeadline 1800', spec: { completionPolicy: { type: 'Never' } }, ttl: [85_800, 86_999], ads: 1800 },
  ];
  for (const r of rows) {
    it(`should draw the TTL within range: ${r.name}`, () => {
      const d = desired(r.spec);
      assert.equal(tagPullPolicy(d, () => 0).ttlSecondsAfterFinished, r.ttl[0]);
      assert.equal(tagPullPolicy(d, () => MAX_RANDOM).ttlSecondsAfterFinished, r.ttl[1]);
      assert.equal(tagPullPolicy(d, () => 0).activeDeadlineSeconds, r.ads);
    });
  }
  it('should carry the job timeout and backoff, defaulting to 600 and 3', () => {
    assert.deepEqual(tagPullPolicy(desired({}), () => 0), { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 2100 });
    const p = tagPullPolicy(desired({ pullPolicy: { timeoutSeconds: 50, backoffLimit: 2 } }), () => 0);
    assert.equal(p.timeoutSeconds, 50);
    assert.equal(p.backoffLimit, 2);
  });
});

describe('addJobToNodeImage', () => {
  it('should append a new tag at version 0 with createdAt, the job as owner and the Secret copies', () => {
    const ni = addJobToNodeImage(makeNodeImage('n'), desired(), at(10), () => 0)!;
    const image = ni.spec.images!['nginx']!;
    assert.deepEqual(image.pullSecrets, [SECRET]);
    assert.deepEqual(image.tags, [{
      tag: '1.9.1', version: 0, createdAt: iso(10), ownerReferences: [owner()],
      pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 2100 },
    }]);
  });

  it('should continue from the status version of a tag that left the spec', () => {
    const ni = makeNodeImage('n', [], [{ tag: '1.9.1', phase: 'Succeeded', version: 4 }]);
    assert.equal(addJobToNodeImage(ni, desired(), at(10), () => 0)!.spec.images!['nginx']!.tags[0]!.version, 5);
  });

  it('should bump the version of a tag another job owns, append the owner, renew createdAt and keep its policy', () => {
    const shared = { tag: '1.9.1', version: 2, createdAt: iso(0), ownerReferences: [owner('other', 'first')], pullPolicy: { timeoutSeconds: 10, backoffLimit: 1, ttlSecondsAfterFinished: 86_000, activeDeadlineSeconds: 1800 } };
    const ni = addJobToNodeImage(makeNodeImage('n', [shared]), desired(), at(10), () => 0)!;
    const tag = ni.spec.images!['nginx']!.tags[0]!;
    assert.equal(tag.version, 3);
    assert.deepEqual(tag.ownerReferences, [owner('other', 'first'), owner()]);
    assert.equal(tag.createdAt, iso(10));
    assert.deepEqual(tag.pullPolicy, shared.pullPolicy);
  });

  it('should write nothing when the job already owns the tag and its Secrets are there', () => {
    const once = addJobToNodeImage(makeNodeImage('n'), desired(), at(10), () => 0)!;
    assert.equal(addJobToNodeImage(once, desired(), at(20), () => 0), undefined);
  });

  it('should merge Secrets without duplicates and keep other writers entries', () => {
    const base = makeNodeImage('n', [{ tag: '1.0', version: 0, createdAt: iso(0), ownerReferences: [owner('x', 'x')] }]);
    base.spec.images!['nginx']!.pullSecrets = [{ namespace: 'kruise-system', name: 'theirs' }, SECRET];
    const ni = addJobToNodeImage(base, desired(), at(10), () => 0)!;
    const image = ni.spec.images!['nginx']!;
    assert.deepEqual(image.pullSecrets, [{ namespace: 'kruise-system', name: 'theirs' }, SECRET]);
    assert.deepEqual(image.tags.map((t) => t.tag), ['1.0', '1.9.1']);
  });

  it('should keep tags sorted by tag', () => {
    const base = makeNodeImage('n', [{ tag: '2.0', version: 0, createdAt: iso(0), ownerReferences: [owner('x', 'x')] }]);
    assert.deepEqual(addJobToNodeImage(base, desired(), at(10), () => 0)!.spec.images!['nginx']!.tags.map((t) => t.tag), ['1.9.1', '2.0']);
  });

  it('should mark a round Always for an imagePullPolicy Always job, also on a shared tag', () => {
    assert.equal(addJobToNodeImage(makeNodeImage('n'), desired({ imagePullPolicy: 'Always' }), at(10), () => 0)!.spec.images!['nginx']!.tags[0]!.imagePullPolicy, 'Always');
    const shared = makeNodeImage('n', [{ tag: '1.9.1', version: 0, createdAt: iso(0), ownerReferences: [owner('x', 'x')] }], [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(1) }]);
    const tag = addJobToNodeImage(shared, desired({ imagePullPolicy: 'Always' }), at(10), () => 0)!.spec.images!['nginx']!.tags[0]!;
    assert.equal(tag.version, 1);
    assert.equal(tag.imagePullPolicy, 'Always');
  });

  it('should not downgrade an unfinished Always round when an IfNotPresent job joins, and clear a finished one', () => {
    const alwaysTag = { tag: '1.9.1', version: 0, createdAt: iso(0), ownerReferences: [owner('x', 'x')], imagePullPolicy: 'Always' as const };
    const running = makeNodeImage('n', [alwaysTag], [{ tag: '1.9.1', phase: 'Pulling', version: 0 }]);
    assert.equal(addJobToNodeImage(running, desired(), at(10), () => 0)!.spec.images!['nginx']!.tags[0]!.imagePullPolicy, 'Always');
    const finished = makeNodeImage('n', [alwaysTag], [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(1) }]);
    assert.equal(addJobToNodeImage(finished, desired(), at(10), () => 0)!.spec.images!['nginx']!.tags[0]!.imagePullPolicy, undefined);
  });
});

describe('refreshJobTag and releaseJobFromOtherTags', () => {
  const mine = { tag: '1.9.1', version: 0, createdAt: iso(0), ownerReferences: [owner()], pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 2200 } };

  it('should bring an in-flight tag the job alone owns in line with an edited timeout, keeping a TTL still in range', () => {
    const ni = makeNodeImage('n', [mine], [{ tag: '1.9.1', phase: 'Pulling', version: 0 }]);
    const d = desired({ pullPolicy: { timeoutSeconds: 600, backoffLimit: 2 }, imagePullPolicy: 'Always' });
    const tag = refreshJobTag(ni, d, () => 0)!.spec.images!['nginx']!.tags[0]!;
    // New range: 600 × 2 + 300 = 1500..1799; 2200 is out of it, so it is drawn again.
    assert.deepEqual(tag.pullPolicy, { timeoutSeconds: 600, backoffLimit: 2, ttlSecondsAfterFinished: 1500 });
    assert.equal(tag.imagePullPolicy, 'Always');
    assert.equal(tag.version, 0);
    // An added activeDeadlineSeconds 1900 gives 2200..2499: the TTL 2200 is kept.
    const kept = refreshJobTag(ni, desired({ completionPolicy: { type: 'Always', activeDeadlineSeconds: 1900 } }), () => 0.5)!.spec.images!['nginx']!.tags[0]!;
    assert.deepEqual(kept.pullPolicy, { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 2200, activeDeadlineSeconds: 1900 });
  });

  it('should leave a shared or finished tag policy alone but still merge new Secret copies', () => {
    const shared = makeNodeImage('n', [{ ...mine, ownerReferences: [owner(), owner('x', 'x')] }], [{ tag: '1.9.1', phase: 'Pulling', version: 0 }]);
    const out = refreshJobTag(shared, desired({ pullPolicy: { timeoutSeconds: 5, backoffLimit: 0 } }), () => 0)!;
    assert.deepEqual(out.spec.images!['nginx']!.tags[0]!.pullPolicy, mine.pullPolicy);
    assert.deepEqual(out.spec.images!['nginx']!.pullSecrets, [SECRET]);
    const finished = makeNodeImage('n', [mine], [{ tag: '1.9.1', phase: 'Succeeded', version: 0, completionTime: iso(3) }]);
    finished.spec.images!['nginx']!.pullSecrets = [SECRET];
    assert.equal(refreshJobTag(finished, desired({ pullPolicy: { timeoutSeconds: 5, backoffLimit: 0 } }), () => 0), undefined);
  });

  it('should release the job from tags of another image and drop tags left without owners', () => {
    const ni = makeNodeImage('n', [
      { tag: '1.9.0', version: 0, createdAt: iso(0), ownerReferences: [owner()] },
      { tag: '1.8.0', version: 0, createdAt: iso(0), ownerReferences: [owner(), owner('x', 'x')] },
      mine,
    ]);
    const out = releaseJobFromOtherTags(ni, 'job-uid', IMAGE)!;
    assert.deepEqual(out.spec.images!['nginx']!.tags.map((t) => [t.tag, t.ownerReferences?.map((o) => o.uid)]), [['1.8.0', ['x']], ['1.9.1', ['job-uid']]]);
    assert.equal(releaseJobFromOtherTags(out, 'job-uid', IMAGE), undefined);
  });
});

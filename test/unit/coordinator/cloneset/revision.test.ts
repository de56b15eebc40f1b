/**
 * Revisions (spec §5.1, §6): the canonical data, FNV-1 hashing and safe encoding, names, the short-hash label,
 * and resolveRevisions (create, reuse, rollback renumbering, collisions, currentRevision, history truncation).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloneSet } from '../../../../src/api/cloneset-types.js';
import {
  equalRevision, fnv1_32, hashRevision, newRevision, podMatchesRevision, resolveRevisions, revisionData,
  revisionLabelValue, revisionName, safeEncodeString, shortHash, type ControllerRevision,
} from '../../../../src/coordinator/cloneset/revision.js';
import { goJsonMarshal, goJsonString } from '../../../../src/coordinator/cloneset/go-json.js';
import { createTestCloneSet, createTestPod } from './fixtures.js';

function fnv1a32(bytes: Uint8Array): number {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul((h ^ b) >>> 0, 16777619) >>> 0;
  return h;
}

function withImage(image: string, extra: Partial<CloneSet['spec']> = {}, status?: CloneSet['status']): CloneSet {
  const cs = createTestCloneSet(5, 0, 1, 0);
  cs.spec.template.spec.containers[0]!.image = image;
  Object.assign(cs.spec, extra);
  if (status) cs.status = status;
  return cs;
}

describe('hash facts (§6.2)', () => {
  it('should use FNV-1 (multiply then xor), which differs from FNV-1a', () => {
    const a = Buffer.from('a');
    assert.equal(fnv1_32(Buffer.alloc(0)), 0x811c9dc5);
    assert.equal(fnv1_32(a), 0x050c5d7e);
    assert.equal(fnv1a32(a), 0xe40c292c);
    assert.notEqual(fnv1_32(Buffer.from('{"spec":{}}')), fnv1a32(Buffer.from('{"spec":{}}')));
  });
  it('should safe-encode digits 0→4 … 9→f with the alphabet bcdfghjklmnpqrstvwxz2456789', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
  });
  it('should hash data followed by the decimal collision count, then safe-encode the decimal hash', () => {
    const data = revisionData(withImage('nginx:1.9.1'));
    const expected = safeEncodeString(String(fnv1_32(Buffer.from(`${data}0`))));
    assert.equal(hashRevision(data, 0), expected);
    assert.equal(hashRevision(data), expected);
    assert.match(expected, /^[456789bcdf]{1,10}$/);
  });
  it('should change the hash when the collision count changes', () => {
    const data = revisionData(withImage('nginx:1.9.1'));
    assert.notEqual(hashRevision(data, 0), hashRevision(data, 1));
  });
  it('should change the hash when the template changes', () => {
    assert.notEqual(hashRevision(revisionData(withImage('nginx:1.9.1'))), hashRevision(revisionData(withImage('nginx:1.9.2'))));
  });
});

describe('revisionData (§6.1)', () => {
  it('should write the template with sorted keys, $patch replace, null creationTimestamp and Go omissions', () => {
    const cs = createTestCloneSet(5, 0, 1, 0);
    cs.spec.template = {
      metadata: { labels: { app: 'sample' }, annotations: { note: '<a&b>' } },
      spec: {
        hostNetwork: false,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'main', image: 'nginx:1.9.1', stdin: false, env: [{ name: 'X', value: '' }], args: [] }],
        nodeSelector: {},
        securityContext: {},
      },
    };
    assert.equal(revisionData(cs),
      '{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"note":"\\u003ca\\u0026b\\u003e"},' +
      '"creationTimestamp":null,"labels":{"app":"sample"}},"spec":{"containers":[{"env":[{"name":"X"}],' +
      '"image":"nginx:1.9.1","name":"main","resources":{}}],"securityContext":{},"terminationGracePeriodSeconds":0}}}}');
  });
  it('should keep pointer zero values such as a volume defaultMode 0 and privileged false', () => {
    const cs = createTestCloneSet(1, 0, 1, 0);
    cs.spec.template.spec.volumes = [{ name: 'v', secret: { secretName: 's', defaultMode: 0 } }];
    cs.spec.template.spec.containers[0]!['securityContext'] = { privileged: false };
    const data = revisionData(cs);
    assert.ok(data.includes('"secret":{"defaultMode":0,"secretName":"s"}'), data);
    assert.ok(data.includes('"securityContext":{"privileged":false}'), data);
  });
  it('should escape like Go: HTML characters, U+2028, control characters', () => {
    assert.equal(goJsonString('<>&\u2028\u2029\n\t\b\u0001"\\é'), '"\\u003c\\u003e\\u0026\\u2028\\u2029\\n\\t\\u0008\\u0001\\"\\\\é"');
  });
  it('should sort keys by UTF-8 bytes at every level', () => {
    assert.equal(goJsonMarshal({ b: 1, a: { z: true, $: null }, A: [{ y: 1, x: 2 }] }), '{"A":[{"x":2,"y":1}],"a":{"$":null,"z":true},"b":1}');
  });
});

describe('revision names and objects (§6.1)', () => {
  it('should name a revision <CloneSet name>-<hash>', () => {
    assert.equal(revisionName(createTestCloneSet(1, 0, 1, 0), '956df7994'), 'sample-956df7994');
  });
  it('should cut the prefix to 223 bytes', () => {
    const long = 'x'.repeat(300);
    assert.equal(revisionName(long, 'abc'), `${'x'.repeat(223)}-abc`);
  });
  it('should build a ControllerRevision with template labels + hash, CloneSet annotations and an owner ref', () => {
    const cs = withImage('nginx:1.9.1');
    cs.metadata.annotations = { team: 'a' };
    const rev = newRevision(cs, 3, 0);
    const hash = hashRevision(revisionData(cs), 0);
    assert.equal(rev.metadata.name, `sample-${hash}`);
    assert.equal(rev.metadata.namespace, 'default');
    assert.deepEqual(rev.metadata.labels, { app: 'sample', 'controller.kubernetes.io/hash': hash });
    assert.deepEqual(rev.metadata.annotations, { team: 'a' });
    assert.deepEqual(rev.metadata.ownerReferences, [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'sample',
      uid: 'uid-sample', controller: true, blockOwnerDeletion: true }]);
    assert.equal(rev.revision, 3);
    assert.equal(goJsonMarshal(rev.data), revisionData(cs));
  });
});

describe('short hash label (§6.3)', () => {
  const rev = 'demo-cloneset-956df7994';
  it('should write the full name with the gate off and the last dash segment with it on', () => {
    assert.equal(revisionLabelValue(rev, false), rev);
    assert.equal(revisionLabelValue(rev, true), '956df7994');
    assert.equal(shortHash('nodash'), 'nodash');
  });
  it('should match Pods in both formats, so old full-name Pods still match after enabling the gate', () => {
    assert.ok(podMatchesRevision(rev, rev));
    assert.ok(podMatchesRevision('956df7994', rev));
    assert.ok(podMatchesRevision('demo-cloneset-956df7994', 'demo-cloneset-956df7994'));
    assert.ok(!podMatchesRevision('demo-cloneset-5f7c8d9b4', rev));
    assert.ok(!podMatchesRevision(undefined, rev));
    assert.ok(!podMatchesRevision('', rev));
  });
});

function stored(cs: CloneSet, number: number, name?: string): ControllerRevision {
  const r = newRevision(cs, number, 0);
  if (name) r.metadata.name = name;
  return r;
}

describe('resolveRevisions (§5.1, §6.2)', () => {
  it('should create revision 1 on the first reconcile, with current = update', () => {
    const plan = resolveRevisions({ cloneSet: withImage('nginx:1.9.1'), revisions: [] });
    assert.equal(plan.create?.revision, 1);
    assert.equal(plan.updateRevision, plan.create);
    assert.equal(plan.currentRevision, plan.create);
    assert.equal(plan.collisionCount, 0);
    assert.deepEqual(plan.revisionsToDelete, []);
  });
  it('should reuse the newest revision when its data is equal', () => {
    const v1 = stored(withImage('nginx:1.9.1'), 1);
    const v2 = stored(withImage('nginx:1.9.2'), 2);
    const cs = withImage('nginx:1.9.2', {}, { ...emptyStatus(), currentRevision: v1.metadata.name! });
    const plan = resolveRevisions({ cloneSet: cs, revisions: [v1, v2] });
    assert.equal(plan.create, undefined);
    assert.equal(plan.renumber, undefined);
    assert.equal(plan.updateRevision.metadata.name, v2.metadata.name);
    assert.equal(plan.currentRevision.metadata.name, v1.metadata.name);
  });
  it('should roll back to an older equal revision by bumping its revision number', () => {
    const v1 = stored(withImage('nginx:1.9.1'), 1);
    const v2 = stored(withImage('nginx:1.9.2'), 2);
    const cs = withImage('nginx:1.9.1', {}, { ...emptyStatus(), currentRevision: v2.metadata.name! });
    const plan = resolveRevisions({ cloneSet: cs, revisions: [v2, v1] });
    assert.deepEqual(plan.renumber, { name: v1.metadata.name, revision: 3 });
    assert.equal(plan.updateRevision.metadata.name, v1.metadata.name);
    assert.equal(plan.updateRevision.revision, 3);
    assert.equal(plan.currentRevision.metadata.name, v2.metadata.name);
  });
  it('should fall back to the update revision when status.currentRevision names no stored revision', () => {
    const v1 = stored(withImage('nginx:1.9.1'), 1);
    const plan = resolveRevisions({ cloneSet: withImage('nginx:1.9.1', {}, { ...emptyStatus(), currentRevision: 'sample-gone' }), revisions: [v1] });
    assert.equal(plan.currentRevision.metadata.name, v1.metadata.name);
  });
  it('should raise the collision count while the name is taken by different data', () => {
    const cs = withImage('nginx:1.9.3');
    const taken = stored(withImage('nginx:1.0'), 1, revisionName(cs, hashRevision(revisionData(cs), 0)));
    taken.metadata.labels = { other: 'owner' }; // not selected by this CloneSet
    const plan = resolveRevisions({ cloneSet: cs, revisions: [], namespaceRevisions: [taken] });
    assert.equal(plan.collisionCount, 1);
    assert.equal(plan.create?.metadata.name, revisionName(cs, hashRevision(revisionData(cs), 1)));
    assert.equal(plan.create?.metadata.labels?.['controller.kubernetes.io/hash'], hashRevision(revisionData(cs), 1));
  });
  it('should reuse a same-named revision with identical data instead of creating one', () => {
    const cs = withImage('nginx:1.9.3');
    const same = stored(cs, 7);
    same.metadata.labels = { other: 'owner' };
    const plan = resolveRevisions({ cloneSet: cs, revisions: [], namespaceRevisions: [same] });
    assert.equal(plan.create, undefined);
    assert.equal(plan.updateRevision, same);
    assert.equal(plan.collisionCount, 0);
  });
  it('should ignore revisions controlled by another owner', () => {
    const cs = withImage('nginx:1.9.1');
    const foreign = stored(cs, 1);
    foreign.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'X', name: 'x', uid: 'other', controller: true }];
    const plan = resolveRevisions({ cloneSet: cs, revisions: [foreign], namespaceRevisions: [] });
    assert.equal(plan.create?.revision, 1);
  });
  it('should delete the oldest non-live history beyond revisionHistoryLimit, keeping revisions of live Pods', () => {
    const images = ['1.1', '1.2', '1.3', '1.4', '1.5', '1.6'];
    const revs = images.map((img, i) => stored(withImage(`nginx:${img}`), i + 1));
    const cs = withImage('nginx:1.6', { revisionHistoryLimit: 1 }, { ...emptyStatus(), currentRevision: revs[4]!.metadata.name! });
    // A Pod still on 1.1 with a short-hash label keeps that revision alive.
    const pod = createTestPod(shortHash(revs[0]!.metadata.name!));
    const plan = resolveRevisions({ cloneSet: cs, revisions: revs, pods: [pod] });
    // live: 1.1 (pod), 1.5 (current), 1.6 (update); history: 1.2, 1.3, 1.4 → keep 1 newest.
    assert.deepEqual(plan.revisionsToDelete, [revs[1]!.metadata.name, revs[2]!.metadata.name]);
  });
});

describe('equalRevision', () => {
  it('should compare data bytes, and hash labels only when both parse as integers', () => {
    const a = stored(withImage('nginx:1'), 1);
    const b = stored(withImage('nginx:1'), 2);
    assert.ok(equalRevision(a, b));
    a.metadata.labels!['controller.kubernetes.io/hash'] = '5555';
    b.metadata.labels!['controller.kubernetes.io/hash'] = '6666';
    assert.ok(!equalRevision(a, b));
    b.metadata.labels!['controller.kubernetes.io/hash'] = 'bcd';
    assert.ok(equalRevision(a, b));
  });
});

function emptyStatus(): NonNullable<CloneSet['status']> {
  return { replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0, updatedReadyReplicas: 0 };
}

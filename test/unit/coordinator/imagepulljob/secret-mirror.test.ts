/** Pull-secret copies in the system namespace: names, the create/update/delete plan, and the job-gone rule. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import {
  MIRROR_JOB_ANNOTATION, MIRROR_JOB_UID_LABEL, MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION, desiredMirror, mirrorSecretName,
  mirroredSecretRefs, planMirrors, type SecretObject,
} from '../../../../src/coordinator/imagepulljob/secret-mirror.js';

const job = (pullSecrets: string[], uid = 'uid-1'): ImagePullJob => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'warm', namespace: 'shop', uid },
  spec: { image: 'nginx', pullSecrets },
});
const source = (name: string, rv = '10'): SecretObject => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'shop', resourceVersion: rv },
  type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'e30=' },
});

describe('mirrorSecretName', () => {
  it('should read as <job-namespace>.<job-name>.<secret-name> with a hash suffix', () => {
    assert.match(mirrorSecretName('shop', 'warm', 'regcred'), /^shop\.warm\.regcred-[0-9a-f]{10}$/);
  });
  it('should keep names with dots apart', () => {
    assert.notEqual(mirrorSecretName('a', 'b.c', 'd'), mirrorSecretName('a', 'b', 'c.d'));
  });
  it('should fit 253 characters and end in an alphanumeric character', () => {
    const n = mirrorSecretName('ns', 'j'.repeat(200), `x.${'s'.repeat(200)}`);
    assert.ok(n.length <= 253);
    assert.match(n, /[a-z0-9]$/);
  });
});

describe('planMirrors', () => {
  it('should create a copy in kruise-system labelled with the job uid and annotated with the job key', () => {
    const p = planMirrors(job(['regcred']), [], new Map([['regcred', source('regcred')]]));
    assert.equal(p.create.length, 1);
    const m = p.create[0]!;
    assert.equal(m.metadata.namespace, 'kruise-system');
    assert.equal(m.metadata.labels?.[MIRROR_JOB_UID_LABEL], 'uid-1');
    assert.equal(m.metadata.annotations?.[MIRROR_JOB_ANNOTATION], 'shop/warm');
    assert.deepEqual(m.data, { '.dockerconfigjson': 'e30=' });
    assert.deepEqual(mirroredSecretRefs(job(['regcred'])), [{ namespace: 'kruise-system', name: m.metadata.name }]);
  });
  it('should update a copy whose source changed and leave one whose source is the same', () => {
    const j = job(['a', 'b']);
    const ma = { ...desiredMirror(j, source('a', '1')), metadata: { ...desiredMirror(j, source('a', '1')).metadata, resourceVersion: '7' } };
    const mb = desiredMirror(j, source('b', '5'));
    const p = planMirrors(j, [ma, mb], new Map([['a', source('a', '2')], ['b', source('b', '5')]]));
    assert.deepEqual(p.create, []);
    assert.equal(p.update.length, 1);
    assert.equal(p.update[0]!.metadata.annotations?.[MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION], '2');
    assert.equal(p.update[0]!.metadata.resourceVersion, '7');
  });
  it('should delete every copy when the job is gone, and copies of a re-created job with another uid', () => {
    const old = desiredMirror(job(['a'], 'old-uid'), source('a'));
    assert.deepEqual(planMirrors(undefined, [old], new Map()).delete, [old.metadata.name]);
    assert.deepEqual(planMirrors(job(['a'], 'new-uid'), [old], new Map()).delete, [old.metadata.name]);
  });
  it('should delete copies of secrets the job no longer names and report missing sources', () => {
    const j = job(['a']);
    const stale = desiredMirror(job(['a', 'b']), source('b'));
    const p = planMirrors(j, [stale], new Map([['a', null]]));
    assert.deepEqual(p.delete, [stale.metadata.name]);
    assert.deepEqual(p.missing, ['a']);
    assert.deepEqual(p.create, []);
  });
});

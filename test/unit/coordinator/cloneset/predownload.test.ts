/**
 * Pre-download decisions (spec §4.1): process enablement, cleanup once converged, the labels on the update
 * revision, the v0.9.0 skip rules, main's min-updated-ready-pods annotation, and the jobs' fields.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloneSet } from '../../../../src/api/cloneset-types.js';
import { parseFeatureGates } from '../../../../src/api/feature-gates.js';
import { decidePreDownload } from '../../../../src/coordinator/cloneset/predownload.js';
import { newRevision, shortHash, type ControllerRevision } from '../../../../src/coordinator/cloneset/revision.js';
import { createTestCloneSet } from './fixtures.js';

const GATES = parseFeatureGates('PreDownloadImageForInPlaceUpdate=true');

/** `common` applies to both revisions, `mutate` to the update revision only. */
function setup(mutate: (cs: CloneSet) => void = () => {}, common: (cs: CloneSet) => void = () => {}, newImage = 'nginx:1.9.2'): { cs: CloneSet; cur: ControllerRevision; upd: ControllerRevision } {
  const cs = createTestCloneSet(5, 0, '20%', 0);
  cs.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox:1' });
  common(cs);
  const cur = newRevision(cs, 1);
  cs.spec.template.spec.containers[0]!.image = newImage;
  mutate(cs);
  const upd = newRevision(cs, 2);
  return { cs, cur, upd };
}

describe('decidePreDownload (§4.1)', () => {
  it('should be disabled unless the gate and KruiseDaemon are on and the kind is served', () => {
    const { cs, cur, upd } = setup();
    assert.equal(decidePreDownload(cs, cur, upd, parseFeatureGates('')).action, 'disabled');
    assert.equal(decidePreDownload(cs, cur, upd, parseFeatureGates('PreDownloadImageForInPlaceUpdate=true,KruiseDaemon=false')).action, 'disabled');
    assert.equal(decidePreDownload(cs, cur, upd, GATES, { imagePullJobKindServed: false }).action, 'disabled');
  });
  it('should clean up when current and update revisions are the same', () => {
    const { cs, upd } = setup();
    assert.deepEqual(decidePreDownload(cs, upd, upd, GATES), { action: 'cleanup' });
  });
  it('should do nothing for a revision already marked created or ignored', () => {
    const { cs, cur, upd } = setup();
    upd.metadata.labels!['apps.kruise.io/pre-predownload-created'] = 'true';
    assert.deepEqual(decidePreDownload(cs, cur, upd, GATES), { action: 'none', reason: 'AlreadyCreated' });
    delete upd.metadata.labels!['apps.kruise.io/pre-predownload-created'];
    upd.metadata.labels!['apps.kruise.io/image-predownload-ignored'] = 'true';
    assert.deepEqual(decidePreDownload(cs, cur, upd, GATES), { action: 'none', reason: 'AlreadyIgnored' });
  });
  const skips: [string, (cs: CloneSet) => void, string][] = [
    ['a ReCreate CloneSet', (cs) => { cs.spec.updateStrategy!.type = 'ReCreate'; }, 'ReCreate'],
    ['3 replicas or fewer', (cs) => { cs.spec.replicas = 3; }, 'TooFewReplicas'],
    ['partition 0 with maxUnavailable covering every Pod', (cs) => { cs.spec.updateStrategy!.maxUnavailable = '100%'; }, 'AllInOneBatch'],
    ['a change that is not image-only', (cs) => { cs.spec.template.spec.containers[0]!.env = [{ name: 'A', value: '1' }]; }, 'NotInPlace'],
  ];
  for (const [what, mutate, reason] of skips) {
    it(`should mark the revision ignored for ${what}`, () => {
      const { cs, cur, upd } = setup(mutate);
      assert.deepEqual(decidePreDownload(cs, cur, upd, GATES),
        { action: 'ignore', reason, revisionLabels: { 'apps.kruise.io/image-predownload-ignored': 'true' } });
    });
  }
  it('should not skip a large partition that leaves everything in one batch (v0.9.0)', () => {
    const { cs, cur, upd } = setup((c) => { c.spec.updateStrategy!.partition = 1; c.spec.updateStrategy!.maxUnavailable = '100%'; });
    assert.equal(decidePreDownload(cs, cur, upd, GATES).action, 'create');
  });
  it('should create one job per changed container with the §4.1 fields', () => {
    const { cs, cur, upd } = setup((c) => {
      c.metadata.annotations = { 'apps.kruise.io/image-predownload-parallelism': '2', 'apps.kruise.io/image-predownload-timeout-seconds': '120' };
    }, (c) => { c.spec.template.spec.imagePullSecrets = [{ name: 'reg' }]; });
    const d = decidePreDownload(cs, cur, upd, GATES);
    assert.equal(d.action, 'create');
    if (d.action !== 'create') return;
    assert.deepEqual(d.revisionLabels, { 'apps.kruise.io/pre-predownload-created': 'true' });
    assert.equal(d.jobs.length, 1);
    const job = d.jobs[0]!;
    const name = upd.metadata.name!;
    assert.equal(job.metadata.name, `${name}-main`);
    assert.equal(job.metadata.namespace, 'default');
    assert.deepEqual(job.metadata.labels, { app: 'sample', 'controller.kubernetes.io/hash': shortHash(name) });
    assert.deepEqual(job.metadata.ownerReferences?.[0]?.uid, 'uid-sample');
    assert.deepEqual(job.spec, {
      image: 'nginx:1.9.2',
      podSelector: { matchLabels: { app: 'sample' }, matchExpressions: [{ key: 'controller-revision-hash', operator: 'NotIn', values: [name, shortHash(name)] }] },
      parallelism: 2,
      pullPolicy: { backoffLimit: 1, timeoutSeconds: 120 },
      completionPolicy: { type: 'Always', ttlSecondsAfterFinished: 600 },
      pullSecrets: ['reg'],
    });
  });
  it('should default parallelism to 1 and timeout to 300 when the annotations are absent or unparsable', () => {
    const { cs, cur, upd } = setup((c) => { c.metadata.annotations = { 'apps.kruise.io/image-predownload-parallelism': 'two' }; });
    const d = decidePreDownload(cs, cur, upd, GATES);
    assert.ok(d.action === 'create');
    assert.equal(d.jobs[0]!.spec.parallelism, 1);
    assert.equal(d.jobs[0]!.spec.pullPolicy?.timeoutSeconds, 300);
  });
  it('should treat a container absent from the current template as changed', () => {
    const { cs, cur, upd } = setup((c) => { c.spec.template.spec.containers[1]!.image = 'busybox:2'; });
    const d = decidePreDownload(cs, cur, upd, GATES);
    assert.ok(d.action === 'create');
    assert.deepEqual(d.jobs.map((j) => j.spec.image), ['nginx:1.9.2', 'busybox:2']);
  });
  it('should wait for min-updated-ready-pods of the update revision (main)', () => {
    const { cs, cur, upd } = setup((c) => { c.metadata.annotations = { 'apps.kruise.io/image-predownload-min-updated-ready-pods': '40%' }; });
    cs.status = { replicas: 5, readyReplicas: 5, availableReplicas: 5, updatedReplicas: 1, updatedReadyReplicas: 1, updateRevision: upd.metadata.name! };
    assert.equal(decidePreDownload(cs, cur, upd, GATES).action, 'wait');
    cs.status.updatedReadyReplicas = 2;
    assert.equal(decidePreDownload(cs, cur, upd, GATES).action, 'create');
    cs.status.updateRevision = cur.metadata.name!; // counters of another revision do not count
    assert.equal(decidePreDownload(cs, cur, upd, GATES).action, 'wait');
  });
});

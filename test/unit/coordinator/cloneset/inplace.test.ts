/**
 * In-place update detection and completion (spec §4.7): image-only changes under the template's spec are
 * in-place-able, metadata changes are allowed, anything else forces a recreate.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloneSet } from '../../../../src/api/cloneset-types.js';
import type { Pod } from '../../../../src/api/pod-types.js';
import {
  calculateInPlaceUpdateSpec, canUpdateInPlace, inPlaceUpdateCompleted, inPlaceUpdateStateValue,
} from '../../../../src/coordinator/cloneset/inplace.js';
import { revisionData } from '../../../../src/coordinator/cloneset/revision.js';
import { NOW, createTestCloneSet } from './fixtures.js';

function data(mutate: (cs: CloneSet) => void = () => {}): string {
  const cs = createTestCloneSet(5, 0, 1, 0);
  cs.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox:1' });
  mutate(cs);
  return revisionData(cs);
}

const base = data();

describe('canUpdateInPlace (§4.7)', () => {
  const cases: [string, (cs: CloneSet) => void, boolean][] = [
    ['an unchanged template', () => {}, true],
    ['a changed image of one container', (cs) => { cs.spec.template.spec.containers[0]!.image = 'nginx:1.9.2'; }, true],
    ['changed images of two containers', (cs) => {
      cs.spec.template.spec.containers[0]!.image = 'nginx:1.9.2';
      cs.spec.template.spec.containers[1]!.image = 'busybox:2';
    }, true],
    ['a new label and annotation with a new image', (cs) => {
      cs.spec.template.metadata!.labels!['v'] = '2';
      cs.spec.template.metadata!.annotations = { a: 'b' };
      cs.spec.template.spec.containers[0]!.image = 'nginx:1.9.2';
    }, true],
    ['a changed env', (cs) => { cs.spec.template.spec.containers[0]!.env = [{ name: 'A', value: '1' }]; }, false],
    ['changed resources', (cs) => { cs.spec.template.spec.containers[0]!.resources = { limits: { cpu: '1' } }; }, false],
    ['an added container', (cs) => { cs.spec.template.spec.containers.push({ name: 'c3', image: 'x:1' }); }, false],
    ['an added init container', (cs) => { cs.spec.template.spec.initContainers = [{ name: 'init', image: 'x:1' }]; }, false],
    ['a renamed container', (cs) => { cs.spec.template.spec.containers[1]!.name = 'other'; }, false],
    ['a changed pod-level field', (cs) => { cs.spec.template.spec.hostNetwork = true; }, false],
  ];
  for (const [what, mutate, want] of cases) {
    it(`should say ${want ? 'in place' : 'recreate'} for ${what}`, () => {
      assert.equal(canUpdateInPlace(base, data(mutate)), want);
    });
  }
  it('should report the new images by container name and the metadata change', () => {
    const spec = calculateInPlaceUpdateSpec(base, data((cs) => {
      cs.spec.template.spec.containers[1]!.image = 'busybox:2';
      cs.spec.template.metadata!.labels!['v'] = '2';
    }));
    assert.deepEqual(spec?.containerImages, { sidecar: 'busybox:2' });
    assert.equal(spec?.metadataChanged, true);
    assert.deepEqual(spec?.newLabels, { app: 'sample', v: '2' });
  });
  it('should accept parsed revision data as well as JSON text', () => {
    assert.ok(canUpdateInPlace(JSON.parse(base), JSON.parse(data((cs) => { cs.spec.template.spec.containers[0]!.image = 'n:2'; }))));
  });
});

function podWith(specImage: string, status: { image: string; imageID: string }, annotations: Record<string, string> = {}): Pod {
  return {
    metadata: { name: 'p', annotations },
    spec: { containers: [{ name: 'main', image: specImage }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, ...status }] },
  };
}

describe('in-place update state and completion (§4.7)', () => {
  it('should write {revision, updateTimestamp, lastContainerStatuses} for the changed containers', () => {
    const pod = podWith('nginx:1.9.1', { image: 'nginx:1.9.1', imageID: 'sha-old' });
    pod.status!.containerStatuses!.push({ name: 'other', ready: true, restartCount: 0, image: 'x', imageID: 'sha-x' });
    assert.equal(inPlaceUpdateStateValue(pod, 'sample-new9c', { main: 'nginx:1.9.2' }, NOW),
      '{"revision":"sample-new9c","updateTimestamp":"2021-05-19T12:00:00Z","lastContainerStatuses":{"main":{"imageID":"sha-old"}}}');
  });
  const state = JSON.stringify({ revision: 'r', updateTimestamp: '2021-05-19T12:00:00Z', lastContainerStatuses: { main: { imageID: 'sha-old' } } });
  const cases: [string, Pod, boolean][] = [
    ['a Pod without the state annotation', podWith('nginx:2', { image: 'nginx:1', imageID: 'sha-old' }), true],
    ['a container whose imageID changed', podWith('nginx:2', { image: 'nginx:2', imageID: 'sha-new' }, { 'apps.kruise.io/inplace-update-state': state }), true],
    ['a container still on the old imageID and image', podWith('nginx:2', { image: 'nginx:1', imageID: 'sha-old' }, { 'apps.kruise.io/inplace-update-state': state }), false],
    ['a same-digest image whose status image equals the spec image', podWith('nginx:2', { image: 'nginx:2', imageID: 'sha-old' }, { 'apps.kruise.io/inplace-update-state': state }), true],
    ['a spec image without a tag compared as :latest', podWith('nginx', { image: 'nginx:latest', imageID: 'sha-old' }, { 'apps.kruise.io/inplace-update-state': state }), true],
    ['a Pod in its grace period', podWith('nginx:2', { image: 'nginx:2', imageID: 'sha-new' },
      { 'apps.kruise.io/inplace-update-state': state, 'apps.kruise.io/inplace-update-grace': '{}' }), false],
    ['a recorded container without a status', { ...podWith('nginx:2', { image: 'x', imageID: 'y' }, { 'apps.kruise.io/inplace-update-state': state }), status: { containerStatuses: [] } }, false],
    ['the legacy annotation name', podWith('nginx:2', { image: 'nginx:1', imageID: 'sha-old' }, { 'inplace-update-state': state }), false],
  ];
  for (const [what, pod, want] of cases) {
    it(`should consider ${what} ${want ? 'completed' : 'not completed'}`, () => {
      assert.equal(inPlaceUpdateCompleted(pod).completed, want);
    });
  }
});

/**
 * §7.5 HotUpgrade: TestUpdateHotUpgradeSidecar's four reconciles as one multi-step table, the target rules 2a-c,
 * main's "image differs from the working container" rule, the reset of step 4 and the readiness rule of step 5.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';
import {
  applySidecarPodPatch, hotUpgradeChanges, hotUpgradeTarget, isHotUpgradeSettled, resetChanges, workingContainer,
} from '../../../../src/coordinator/sidecarset/hot-upgrade.js';
import { isPodReadyForSidecarSet, planSidecarSet } from '../../../../src/coordinator/sidecarset/upgrade-plan.js';
import { IMAGE_ID_V1, IMAGE_ID_V2, NGINX_ID, T0, container, status } from './fixtures.js';

const EMPTY = 'hotupgrade:empty';
const EMPTY_ID = 'docker-pullable://hotupgrade@sha256:91873971aaf0981293480aaaaf09809085024addd092ccc44c4a4dd44aaaaaaa';

const hotSet = (image = 'test-image:v2'): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet',
  metadata: {
    name: 'test-sidecarset', generation: 123, resourceVersion: '22',
    annotations: { 'kruise.io/sidecarset-hash': 'bbb', 'kruise.io/sidecarset-hash-without-image': '111111111' },
  },
  spec: {
    selector: { matchLabels: { app: 'nginx' } },
    containers: [{ name: 'test-sidecar', image, upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: EMPTY } }],
    updateStrategy: {},
  },
});

const versionEnv = (c: string) => [{ name: 'SIDECARSET_VERSION', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['version.sidecarset.kruise.io/${c}']` } } }];

/** Upstream `podHotUpgrade`: test-sidecar-1 works on v1, test-sidecar-2 idles on the empty image. */
const hotPod = (): Pod => ({
  metadata: {
    name: 'liheng-test', namespace: 'default', labels: { app: 'nginx' },
    annotations: {
      'kruise.io/sidecarset-hash': '{"test-sidecarset":{"hash":"aaa"}}',
      'kruise.io/sidecarset-hash-without-image': '{"test-sidecarset":{"hash":"111111111"}}',
      'version.sidecarset.kruise.io/test-sidecar-1': '1',
      'version.sidecarset.kruise.io/test-sidecar-2': '1',
      'kruise.io/sidecarset-working-hotupgrade-container': '{"test-sidecar":"test-sidecar-1"}',
    },
  },
  spec: {
    containers: [
      { name: 'nginx', image: 'nginx:1.15.1' },
      { name: 'test-sidecar-1', image: 'test-image:v1', env: versionEnv('test-sidecar-1') },
      { name: 'test-sidecar-2', image: EMPTY, env: versionEnv('test-sidecar-2') },
    ],
  },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      status('nginx', 'nginx:1.15.1', NGINX_ID),
      status('test-sidecar-1', 'test-image:v1', IMAGE_ID_V1),
      status('test-sidecar-2', EMPTY, EMPTY_ID),
    ],
  },
});

describe('planSidecarSet: TestUpdateHotUpgradeSidecar, four sequential reconciles', () => {
  const steps: {
    name: string;
    images: Record<string, string>;
    status: [number, number, number, number];
    actions: string[];
    /** What the kubelet reports after this step (upstream's handlers). */
    kubelet?: (pod: Pod) => void;
  }[] = [
    {
      name: 'sidecarset hot update test-sidecar container test-image:v2',
      images: { 'test-sidecar-1': 'test-image:v1', 'test-sidecar-2': 'test-image:v2' }, status: [1, 0, 1, 0], actions: ['upgrade'],
    },
    {
      name: 'test-sidecar-2 container is upgrading',
      images: { 'test-sidecar-1': 'test-image:v1', 'test-sidecar-2': 'test-image:v2' }, status: [1, 1, 0, 0], actions: [],
      kubelet: (pod) => { pod.status!.containerStatuses![2] = status('test-sidecar-2', 'test-image:v2', IMAGE_ID_V2); },
    },
    {
      name: 'test-sidecar-2 container upgrade complete, and reset test-sidecar-1 empty image',
      images: { 'test-sidecar-1': EMPTY, 'test-sidecar-2': 'test-image:v2' }, status: [1, 1, 0, 0], actions: ['reset'],
      kubelet: (pod) => { pod.status!.containerStatuses![1] = status('test-sidecar-1', EMPTY, EMPTY_ID); },
    },
    {
      name: 'sidecarset hot update test-sidecar container test-image:v2 complete',
      images: { 'test-sidecar-1': EMPTY, 'test-sidecar-2': 'test-image:v2' }, status: [1, 1, 1, 1], actions: [],
    },
  ];
  let set = hotSet();
  let pod = hotPod();
  for (const [i, step] of steps.entries()) {
    it(`should reach step ${i + 1}/4: ${step.name}`, () => {
      const plan = planSidecarSet(set, [pod], T0 + i * 1000);
      const s = plan.status;
      assert.deepEqual([s.matchedPods, s.updatedPods, s.readyPods, s.updatedReadyPods], step.status);
      assert.deepEqual(plan.actions.map((a) => a.type), step.actions);
      for (const a of plan.actions) pod = applySidecarPodPatch(pod, a.patch);
      for (const [name, image] of Object.entries(step.images)) assert.equal(container(pod, name)!.image, image, name);
      if (plan.statusChanged) set = { ...set, status: s };
      step.kubelet?.(pod);
    });
  }
  it('should have flipped working to test-sidecar-2 with the SidecarSet resourceVersion as its version', () => {
    const a = pod.metadata.annotations!;
    assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"test-sidecar":"test-sidecar-2"}');
    assert.equal(a['version.sidecarset.kruise.io/test-sidecar-2'], '22');
    // The upgrade set it to the old version ("1"); the reset zeroed it: the old side is gone.
    assert.equal(a['versionalt.sidecarset.kruise.io/test-sidecar-2'], '0');
    assert.equal(a['version.sidecarset.kruise.io/test-sidecar-1'], '0');
    assert.equal(a['versionalt.sidecarset.kruise.io/test-sidecar-1'], '22');
  });
});

describe('hotUpgradeTarget: rules 2a-c', () => {
  const set = hotSet();
  it('should take the container on the empty image first (a)', () => {
    assert.deepEqual(hotUpgradeTarget(hotPod(), set, set.spec.containers![0]!), { target: 'test-sidecar-2', other: 'test-sidecar-1' });
  });
  it('should take the one that is not ready when exactly one is (b)', () => {
    const pod = hotPod();
    pod.spec.containers[2]!.image = 'test-image:failed';
    pod.status!.containerStatuses![2] = status('test-sidecar-2', 'test-image:failed', 'id-failed', false);
    pod.metadata.annotations!['kruise.io/sidecarset-working-hotupgrade-container'] = '{"test-sidecar":"test-sidecar-2"}';
    assert.deepEqual(hotUpgradeTarget(pod, set, set.spec.containers![0]!), { target: 'test-sidecar-2', other: 'test-sidecar-1' });
  });
  it('should otherwise take the non-working one (c)', () => {
    const pod = hotPod();
    pod.spec.containers[2]!.image = 'test-image:v2';
    pod.status!.containerStatuses![2] = status('test-sidecar-2', 'test-image:v2', IMAGE_ID_V2);
    assert.deepEqual(hotUpgradeTarget(pod, set, set.spec.containers![0]!), { target: 'test-sidecar-2', other: 'test-sidecar-1' });
  });
  it('should read an absent working annotation as X-2 working', () => {
    const pod = hotPod();
    delete pod.metadata.annotations!['kruise.io/sidecarset-working-hotupgrade-container'];
    assert.deepEqual(workingContainer(pod, 'test-sidecar'), { working: 'test-sidecar-2', other: 'test-sidecar-1' });
  });
});

describe('hotUpgradeChanges', () => {
  it('should change nothing when the SidecarSet image equals the working container image (main rule)', () => {
    const patch = hotUpgradeChanges(hotPod(), hotSet('test-image:v1'));
    assert.deepEqual(patch, { images: {}, annotations: {}, changedContainers: [] });
  });
  it('should point the target at the new image and swap working and versions', () => {
    const patch = hotUpgradeChanges(hotPod(), hotSet(), '22');
    assert.deepEqual(patch, {
      images: { 'test-sidecar-2': 'test-image:v2' },
      changedContainers: ['test-sidecar-2'],
      annotations: {
        'version.sidecarset.kruise.io/test-sidecar-2': '22',
        'versionalt.sidecarset.kruise.io/test-sidecar-2': '1',
        'versionalt.sidecarset.kruise.io/test-sidecar-1': '22',
        'kruise.io/sidecarset-working-hotupgrade-container': '{"test-sidecar":"test-sidecar-2"}',
      },
    });
  });
  it('should leave a pod without the -1/-2 pair alone', () => {
    const pod = hotPod();
    pod.spec.containers = pod.spec.containers.slice(0, 2);
    assert.deepEqual(hotUpgradeChanges(pod, hotSet()).changedContainers, []);
  });
});

describe('resetChanges and readiness (steps 4-5)', () => {
  const midUpgrade = (): Pod => {
    const pod = applySidecarPodPatch(hotPod(), planSidecarSet(hotSet(), [hotPod()], T0).actions[0]!.patch);
    pod.status!.containerStatuses![2] = status('test-sidecar-2', 'test-image:v2', IMAGE_ID_V2);
    return pod;
  };
  it('should not reset while the new container is not yet consistent', () => {
    const pod = applySidecarPodPatch(hotPod(), planSidecarSet(hotSet(), [hotPod()], T0).actions[0]!.patch);
    assert.equal(resetChanges(pod, hotSet(), T0), undefined);
  });
  it('should reset the old container to the empty image with versions 0 and record its imageID', () => {
    const patch = resetChanges(midUpgrade(), hotSet(), T0)!;
    assert.deepEqual(patch.images, { 'test-sidecar-1': EMPTY });
    assert.equal(patch.annotations['version.sidecarset.kruise.io/test-sidecar-1'], '0');
    assert.equal(patch.annotations['versionalt.sidecarset.kruise.io/test-sidecar-2'], '0');
    assert.match(patch.annotations['kruise.io/sidecarset-inplace-update-state']!, /"test-sidecar-1":\{"imageID":"docker-pullable:\/\/test-image@sha256:a92/);
    assert.equal(patch.annotations['kruise.io/sidecarset-hash'], undefined, 'main: the reset does not rewrite the hash');
  });
  it('should reset when only the non-working container is not ready though the Pod is not Ready', () => {
    const pod = midUpgrade();
    pod.status!.conditions = [{ type: 'Ready', status: 'False' }];
    pod.status!.containerStatuses![1]!.ready = false;
    assert.notEqual(resetChanges(pod, hotSet(), T0), undefined);
  });
  it('should count a Pod as ready only once the empty image is back (step 5)', () => {
    const pod = midUpgrade();
    assert.equal(isHotUpgradeSettled(pod, hotSet()), false);
    assert.equal(isPodReadyForSidecarSet(pod, hotSet()), false);
    const reset = applySidecarPodPatch(pod, resetChanges(pod, hotSet(), T0)!);
    assert.equal(isHotUpgradeSettled(reset, hotSet()), true);
    assert.equal(isPodReadyForSidecarSet(reset, hotSet()), true);
  });
  it('should run the reset pass even when the set is paused', () => {
    const set = hotSet();
    set.spec.updateStrategy = { paused: true };
    set.metadata.annotations!['kruise.io/sidecarset-hash'] = 'ccc';
    const plan = planSidecarSet(set, [midUpgrade()], T0);
    assert.deepEqual(plan.actions.map((a) => a.type), ['reset']);
    assert.equal(plan.skipped, 'Paused');
  });
});

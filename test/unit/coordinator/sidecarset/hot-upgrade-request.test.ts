/**
 * kruise-ts's hot-upgrade hand-over to the agent (hot-upgrade-request.ts) and the SidecarSet UPDATE warnings
 * (update-warnings.ts): the request annotation replaces upstream's flip, the Pod counts updated but not
 * ready until the agent removes it, and a rollout consumes maxUnavailable accordingly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../../src/api/pod-types.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';
import { applySidecarPodPatch } from '../../../../src/coordinator/sidecarset/hot-upgrade.js';
import {
  isHotUpgradePending, parseHotUpgradeRequest, planningView, sidecarPodUpgrade, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION,
} from '../../../../src/coordinator/sidecarset/hot-upgrade-request.js';
import { sidecarSetUpdateWarnings } from '../../../../src/coordinator/sidecarset/update-warnings.js';
import { planSidecarSet } from '../../../../src/coordinator/sidecarset/upgrade-plan.js';
import { IMAGE_ID_V1, NGINX_ID, T0, container, status } from './fixtures.js';

const EMPTY = 'hotupgrade:empty';
const EMPTY_ID = 'docker-pullable://hotupgrade@sha256:91873971aaf0981293480aaaaf09809085024addd092ccc44c4a4dd44aaaaaaa';

/** A mixed set: `log` ColdUpgrade, `proxy` HotUpgrade; hash `bbb` (pods carry `aaa`). */
const mixedSet = (logImage = 'log:2', proxyImage = 'proxy:2', overrides: Partial<SidecarSet['spec']> = {}): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet',
  metadata: { name: 'mixed', generation: 2, resourceVersion: '77', annotations: { 'kruise.io/sidecarset-hash': 'bbb', 'kruise.io/sidecarset-hash-without-image': 'w' } },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    containers: [
      { name: 'log', image: logImage },
      { name: 'proxy', image: proxyImage, upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: EMPTY } },
    ],
    updateStrategy: {},
    ...overrides,
  },
});

const mixedPod = (name: string): Pod => ({
  metadata: {
    name, namespace: 'default', labels: { app: 'web' }, creationTimestamp: new Date(T0).toISOString(),
    annotations: {
      'kruise.io/sidecarset-hash': '{"mixed":{"hash":"aaa"}}',
      'kruise.io/sidecarset-hash-without-image': '{"mixed":{"hash":"w"}}',
      'kruise.io/sidecarset-working-hotupgrade-container': '{"proxy":"proxy-1"}',
    },
  },
  spec: {
    nodeName: 'node-1',
    containers: [
      { name: 'log', image: 'log:1' }, { name: 'proxy-1', image: 'proxy:1' }, { name: 'proxy-2', image: EMPTY }, { name: 'app', image: 'nginx:1' },
    ],
  },
  status: {
    phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      status('log', 'log:1', IMAGE_ID_V1), status('proxy-1', 'proxy:1', IMAGE_ID_V1), status('proxy-2', EMPTY, EMPTY_ID), status('app', 'nginx:1', NGINX_ID),
    ],
  },
});

describe('sidecarPodUpgrade', () => {
  it('should patch the cold image and write a swap request for the hot sidecar instead of touching X-1/X-2', () => {
    const set = mixedSet();
    const pod = mixedPod('p');
    const change = sidecarPodUpgrade(pod, set, T0)!;
    assert.deepEqual(change.patch.images, { log: 'log:2' });
    assert.deepEqual(change.request, { sidecarSet: 'mixed', resourceVersion: '77', sidecars: [{ name: 'proxy', image: 'proxy:2', emptyImage: EMPTY }] });
    const out = applySidecarPodPatch(pod, change.patch);
    assert.equal(container(out, 'proxy-1')?.image, 'proxy:1');
    assert.equal(container(out, 'proxy-2')?.image, EMPTY);
    const a = out.metadata.annotations!;
    assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"proxy":"proxy-1"}', 'the agent flips it, not us');
    assert.equal(JSON.parse(a['kruise.io/sidecarset-hash']!).mixed.hash, 'bbb');
    assert.equal(a[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION],
      '{"sidecarSet":"mixed","resourceVersion":"77","sidecars":[{"name":"proxy","image":"proxy:2","emptyImage":"hotupgrade:empty"}]}');
    assert.deepEqual(Object.keys(JSON.parse(a['kruise.io/sidecarset-inplace-update-state']!).mixed.lastContainerStatuses), ['log']);
    assert.deepEqual(parseHotUpgradeRequest(out), change.request);
  });

  it('should write no request when only the cold image changed', () => {
    const change = sidecarPodUpgrade(mixedPod('p'), mixedSet('log:2', 'proxy:1'), T0)!;
    assert.equal(change.request, undefined);
    assert.equal(change.clearRequest, false);
    assert.equal(change.patch.annotations[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION], undefined);
  });

  it('should clear a pending request of the set when the set went back to the working image', () => {
    const pod = applySidecarPodPatch(mixedPod('p'), sidecarPodUpgrade(mixedPod('p'), mixedSet(), T0)!.patch);
    const back = mixedSet('log:2', 'proxy:1');
    back.metadata.annotations!['kruise.io/sidecarset-hash'] = 'ccc';
    const change = sidecarPodUpgrade(pod, back, T0)!;
    assert.equal(change.request, undefined);
    assert.equal(change.clearRequest, true);
  });

  it('should leave a pod alone that already has the hash or waits for another set\'s swap', () => {
    const set = mixedSet();
    const done = applySidecarPodPatch(mixedPod('p'), sidecarPodUpgrade(mixedPod('p'), set, T0)!.patch);
    assert.equal(sidecarPodUpgrade(done, set, T0), undefined);
    const other = mixedPod('q');
    other.metadata.annotations![SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] = '{"sidecarSet":"other","resourceVersion":"1","sidecars":[]}';
    assert.equal(sidecarPodUpgrade(other, set, T0), undefined);
    assert.equal(isHotUpgradePending(other, 'mixed'), false);
    other.metadata.annotations![SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] = 'garbage';
    assert.equal(isHotUpgradePending(other, 'mixed'), true, 'unparsable counts as pending');
  });
});

describe('planningView with planSidecarSet', () => {
  it('should count a pod with a pending swap as updated but not ready, so maxUnavailable 1 holds the rollout', () => {
    const set = mixedSet();
    const pods = ['a', 'b', 'c'].map(mixedPod);
    // Round 1: one pod is chosen.
    const r1 = planSidecarSet(set, pods.map((p) => planningView(p, set)), T0);
    const up1 = r1.actions.filter((a) => a.type === 'upgrade');
    assert.equal(up1.length, 1);
    const chosen = pods.findIndex((p) => p.metadata.name === up1[0]!.name);
    pods[chosen] = applySidecarPodPatch(pods[chosen]!, sidecarPodUpgrade(pods[chosen]!, set, T0)!.patch);
    // The kubelet restarted `log` on log:2; the swap is still pending.
    pods[chosen]!.status!.containerStatuses![0] = status('log', 'log:2', 'docker-pullable://log@sha256:22');
    // Round 2: updated 1, ready 2 (the pending one is not), and nobody else is chosen.
    const r2 = planSidecarSet(set, pods.map((p) => planningView(p, set)), T0);
    assert.deepEqual([r2.status.matchedPods, r2.status.updatedPods, r2.status.readyPods, r2.status.updatedReadyPods], [3, 1, 2, 0]);
    assert.equal(r2.actions.filter((a) => a.type === 'upgrade').length, 0);
    // The agent reports done (removes the annotation, and has flipped the pair): ready again, the next pod goes.
    const swapped = structuredClone(pods[chosen]!);
    delete swapped.metadata.annotations![SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION];
    pods[chosen] = swapped;
    const r3 = planSidecarSet(set, pods.map((p) => planningView(p, set)), T0);
    assert.deepEqual([r3.status.updatedPods, r3.status.readyPods, r3.status.updatedReadyPods], [1, 3, 1]);
    assert.equal(r3.actions.filter((a) => a.type === 'upgrade').length, 1);
  });

  it('should return the very pod when no swap is pending', () => {
    const p = mixedPod('p');
    assert.equal(planningView(p, mixedSet()), p);
  });
});

describe('sidecarSetUpdateWarnings', () => {
  const base = mixedSet('log:1', 'proxy:1');
  it('should warn about nothing for an image-only change', () => {
    assert.deepEqual(sidecarSetUpdateWarnings(base, mixedSet('log:2', 'proxy:2')), []);
  });
  it('should warn that existing pods will not get env changes, and lose later image upgrades', () => {
    const next = structuredClone(base);
    next.spec.containers![0]!.env = [{ name: 'LEVEL', value: 'debug' }];
    const w = sidecarSetUpdateWarnings(base, next);
    assert.equal(w.length, 2);
    assert.match(w[0]!, /container log changed beyond its image .*existing pods will not get these changes/);
    assert.match(w[1]!, /no longer receive image upgrades/);
  });
  it('should warn about added and removed containers, initContainers and volumes', () => {
    const next = structuredClone(base);
    next.spec.containers = [next.spec.containers![1]!, { name: 'metrics', image: 'm:1' }];
    next.spec.initContainers = [{ name: 'init', image: 'i:1' }];
    next.spec.volumes = [{ name: 'v', emptyDir: {} }];
    const w = sidecarSetUpdateWarnings(base, next).join('\n');
    for (const re of [/container metrics was added/, /container log was removed/, /initContainers changed/, /volumes changed/]) assert.match(w, re);
  });
});

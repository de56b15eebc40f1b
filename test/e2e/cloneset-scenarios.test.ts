/**
 * CloneSet scenarios in the sandbox (issue 8; 3 nodes, built-in runtime, 0.2 s pulls), each on its own CloneSet:
 * - the three specified-deletion examples of spec §3.4, with readiness controlled by the test through a readiness
 *   gate (`example.com/ready`, set on `/status`), the order of creations and deletions read from a Pod watch;
 * - a coordinator restarted mid-rollout (ReCreate, maxUnavailable 1) finishes it with no extra or missing Pod;
 * - CloneSetShortHash switched on and off across coordinator restarts with existing Pods (spec §6.3): Pods with the
 *   other label form are still counted as updated, new Pods get the current form, an update relabels them.
 * Negative checks ("nothing else happens") wait a short settle after the controller has observed the state.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import {
  CLONESET_INSTANCE_ID_LABEL, CONTROLLER_REVISION_HASH_LABEL, SPECIFIED_DELETE_LABEL,
} from '../../src/api/well-known-keys.js';
import { shortHash } from '../../src/coordinator/cloneset/index.js';
import { mergePatch, resources } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
const GATE = 'example.com/ready';
/** How long "nothing else happens" is watched once the controller has seen the state (it acts within ms). */
const SETTLE_MS = 1500;

interface Strategy { type?: 'ReCreate' | 'InPlaceIfPossible'; maxUnavailable: number; maxSurge?: number }

function manifest(name: string, replicas: number, strategy: Strategy, gate: boolean): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'nginx', image: 'nginx:alpine' }],
          ...(gate ? { readinessGates: [{ conditionType: GATE }] } : {}),
        },
      },
      updateStrategy: { type: strategy.type ?? 'ReCreate', partition: 0, maxUnavailable: strategy.maxUnavailable, maxSurge: strategy.maxSurge ?? 0 },
    },
  };
}

const condition = (p: Pod, type: string): string | undefined => p.status?.conditions?.find((c) => c.type === type)?.status;
const isReady = (p: Pod): boolean => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';
const containersReady = (p: Pod): boolean => p.status?.phase === 'Running' && condition(p, 'ContainersReady') === 'True';
const live = (pods: readonly Pod[]): Pod[] => pods.filter((p) => !p.metadata.deletionTimestamp);

/** A creation or the start of a deletion of one Pod, in the order the watch delivered them. */
interface Step { kind: 'created' | 'deleting'; name: string }

describe('CloneSet scenarios in the sandbox (built-in runtime)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-cs-scn-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 3, imagePullSeconds: 0.2 },
    });
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const getCs = (name: string): Promise<CloneSet> => sandbox.client.get<CloneSet>(resources.cloneSets, NS, name);
  const listAll = async (name: string): Promise<Pod[]> =>
    (await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${name}` })).items as unknown as Pod[];
  const setGate = (pod: string, status: 'True' | 'False'): Promise<KubeObject> => sandbox.client.patch(resources.pods, NS, pod, 'strategic',
    { status: { conditions: [{ type: GATE, status }] } }, { subresource: 'status' });
  const mark = (pod: string): Promise<KubeObject> =>
    mergePatch(sandbox.client, resources.pods, NS, pod, { metadata: { labels: { [SPECIFIED_DELETE_LABEL]: 'true' } } });

  /** `n` live Pods, all ready, and a status that says so for the current generation. */
  const waitConverged = (name: string, n: number, what: string, extra: (cs: CloneSet, pods: Pod[]) => boolean = () => true) =>
    waitFor(async () => {
      const [cs, all] = await Promise.all([getCs(name), listAll(name)]);
      const s = cs.status;
      return all.length === n && all.every((p) => !p.metadata.deletionTimestamp && isReady(p))
        && s?.replicas === n && s.readyReplicas === n && s.updatedReplicas === n && s.observedGeneration === cs.metadata.generation
        && extra(cs, all) ? { cs, pods: all } : undefined;
    }, what, 30_000);

  /** Sets the gate True on every running Pod of `name` that lacks it, until stopped. */
  const autoReady = (name: string): { stop(): Promise<void> } => {
    const ac = new AbortController();
    const loop = (async () => {
      while (!ac.signal.aborted) {
        for (const p of live(await listAll(name))) {
          if (containersReady(p) && condition(p, GATE) !== 'True') await setGate(p.metadata.name!, 'True').catch(() => undefined);
        }
        await sleep(30, undefined, { signal: ac.signal }).catch(() => undefined);
      }
    })();
    return { stop: async () => { ac.abort(); await loop; } };
  };

  /** Records Pod creations and deletion starts of `name` from now on. */
  const recordSteps = async (name: string): Promise<{ steps: Step[]; stop(): Promise<void> }> => {
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${name}` });
    const known = new Set(list.items.map((p) => p.metadata.name!));
    const deleting = new Set(list.items.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name!));
    const steps: Step[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of sandbox.client.watch<KubeObject>(resources.pods, {
          namespace: NS, labelSelector: `app=${name}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: ac.signal,
        })) {
          const p = ev.object as unknown as Pod;
          const podName = p.metadata.name!;
          if (!known.has(podName)) {
            known.add(podName);
            steps.push({ kind: 'created', name: podName });
          }
          if ((ev.type === 'DELETED' || p.metadata.deletionTimestamp) && !deleting.has(podName)) {
            deleting.add(podName);
            steps.push({ kind: 'deleting', name: podName });
          }
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    return { steps, stop: async () => { ac.abort(); await watching; } };
  };

  /**
   * The starting point of every §3.4 example: 5 ready Pods, then `pod-a` (the first by name) made unavailable
   * through its gate, and the controller has counted it (readyReplicas 4). Returns pod-a and pod-b.
   */
  const fiveWithOneUnavailable = async (name: string, strategy: Strategy): Promise<[string, string]> => {
    await sandbox.client.create(resources.cloneSets, manifest(name, 5, strategy, true) as unknown as KubeObject);
    const ready = autoReady(name);
    const { pods } = await waitConverged(name, 5, `${name}: 5 ready pods`);
    await ready.stop();
    const [podA, podB] = pods.map((p) => p.metadata.name!).sort() as [string, string];
    await setGate(podA, 'False');
    await waitFor(async () => {
      const cs = await getCs(name);
      return cs.status?.readyReplicas === 4 && cs.status.replicas === 5;
    }, `${name}: pod-a counted unavailable`);
    return [podA, podB];
  };

  it('should delete a marked ready pod at once, then replace it, with maxUnavailable 2 and maxSurge 1 (§3.4 row 1)', async () => {
    const name = 'sd-mu2';
    const [podA, podB] = await fiveWithOneUnavailable(name, { maxUnavailable: 2, maxSurge: 1 });
    const rec = await recordSteps(name);
    await mark(podB);
    const replacement = await waitFor(() => rec.steps.find((s) => s.kind === 'created'), 'the replacement');
    await waitFor(async () => (await getCs(name)).status?.replicas === 5, 'the status to count 5 pods');
    await sleep(SETTLE_MS);
    await rec.stop();
    assert.deepEqual(rec.steps, [{ kind: 'deleting', name: podB }, replacement], 'pod-b deleted before anything is created');
    const names = live(await listAll(name)).map((p) => p.metadata.name!);
    assert.equal(names.length, 5);
    assert.ok(names.includes(podA) && !names.includes(podB));
  });

  it('should create a surge pod, wait for it to be ready, then delete the marked pod, with maxUnavailable 1 and maxSurge 1 (§3.4 row 2)', async () => {
    const name = 'sd-mu1';
    const [podA, podB] = await fiveWithOneUnavailable(name, { maxUnavailable: 1, maxSurge: 1 });
    const rec = await recordSteps(name);
    await mark(podB);
    const surge = await waitFor(() => rec.steps.find((s) => s.kind === 'created'), 'the surge pod');
    // The surge Pod runs but its gate holds it not ready: 6 Pods, 2 not ready → deleteReadyLimit 0, pod-b stays.
    await waitFor(async () => {
      const p = live(await listAll(name)).find((q) => q.metadata.name === surge.name);
      return p !== undefined && containersReady(p);
    }, 'the surge pod to run');
    await waitFor(async () => {
      const cs = await getCs(name);
      return cs.status?.replicas === 6 && cs.status.readyReplicas === 4;
    }, 'the status to count 6 pods, 4 ready');
    await sleep(SETTLE_MS);
    assert.deepEqual(rec.steps, [surge], 'pod-b is kept while the surge pod is not ready');

    await setGate(surge.name, 'True');
    await waitFor(() => rec.steps.some((s) => s.kind === 'deleting' && s.name === podB), 'pod-b to be deleted');
    await waitFor(async () => {
      const cs = await getCs(name);
      return cs.status?.replicas === 5 && cs.status.readyReplicas === 4;
    }, 'the status to count 5 pods, 4 ready');
    await sleep(SETTLE_MS);
    await rec.stop();
    assert.deepEqual(rec.steps, [surge, { kind: 'deleting', name: podB }], 'created, then pod-b deleted, then nothing');
    const names = live(await listAll(name)).map((p) => p.metadata.name!).sort();
    assert.equal(names.length, 5);
    assert.ok(names.includes(podA) && names.includes(surge.name) && !names.includes(podB));
  });

  it('should delete a marked unavailable pod at once without a surge pod, with maxUnavailable 1 and maxSurge 1 (§3.4 row 3)', async () => {
    const name = 'sd-self';
    const [podA, podB] = await fiveWithOneUnavailable(name, { maxUnavailable: 1, maxSurge: 1 });
    const rec = await recordSteps(name);
    await mark(podA);
    const replacement = await waitFor(() => rec.steps.find((s) => s.kind === 'created'), 'the replacement');
    await waitFor(async () => (await getCs(name)).status?.replicas === 5, 'the status to count 5 pods');
    await sleep(SETTLE_MS);
    await rec.stop();
    assert.deepEqual(rec.steps, [{ kind: 'deleting', name: podA }, replacement], 'pod-a deleted before anything is created');
    const names = live(await listAll(name)).map((p) => p.metadata.name!);
    assert.equal(names.length, 5);
    assert.ok(names.includes(podB) && !names.includes(podA));
  });

  it('should finish a ReCreate rollout of 6 pods across a coordinator restart with no extra or missing pod', async () => {
    const name = 'resume';
    await sandbox.client.create(resources.cloneSets, manifest(name, 6, { maxUnavailable: 1 }, true) as unknown as KubeObject);
    let ready = autoReady(name);
    const first = await waitConverged(name, 6, '6 ready pods');
    await ready.stop();
    const oldRev = first.cs.status!.updateRevision!;
    const oldNames = new Set(first.pods.map((p) => p.metadata.name!));

    const rec = await recordSteps(name);
    let maxLive = 0;
    const stopCounting = new AbortController();
    const counting = (async () => {
      while (!stopCounting.signal.aborted) {
        maxLive = Math.max(maxLive, live(await listAll(name)).length);
        await sleep(20);
      }
    })();
    after(() => stopCounting.abort());
    await mergePatch(sandbox.client, resources.cloneSets, NS, name, {
      spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:alpine', env: [{ name: 'V', value: '2' }] }] } } },
    });
    // The gate holds the first new Pod not ready, so the rollout waits on it (maxUnavailable 1).
    const firstNew = await waitFor(async () => {
      const p = live(await listAll(name)).find((q) => !oldNames.has(q.metadata.name!));
      return p !== undefined && containersReady(p) ? p : undefined;
    }, 'the first updated pod to run');
    // Let the rollout move on and stop the coordinator while it reacts.
    await setGate(firstNew.metadata.name!, 'True');
    await sandbox.imagePull!.restartCoordinator();
    ready = autoReady(name);
    const done = await waitConverged(name, 6, 'the rollout to finish after the restart',
      (cs) => cs.status?.updateRevision !== oldRev && cs.status?.currentRevision === cs.status?.updateRevision);
    await ready.stop();
    await sleep(SETTLE_MS);
    stopCounting.abort();
    await counting;
    await rec.stop();

    const created = rec.steps.filter((s) => s.kind === 'created').map((s) => s.name);
    const deleted = rec.steps.filter((s) => s.kind === 'deleting').map((s) => s.name);
    assert.equal(created.length, 6, `exactly 6 pods created: ${created.join(', ')}`);
    assert.deepEqual([...deleted].sort(), [...oldNames].sort(), 'each old pod deleted once, no new one');
    assert.ok(maxLive <= 6, `never more than 6 live pods (saw ${maxLive})`);
    const ids = done.pods.map((p) => p.metadata.labels![CLONESET_INSTANCE_ID_LABEL]!);
    assert.equal(new Set(ids).size, 6, `distinct instance ids: ${ids.join(', ')}`);
    assert.deepEqual(done.pods.map((p) => p.metadata.name!).sort(), [...created].sort());
    assert.ok(done.pods.some((p) => p.metadata.uid === firstNew.metadata.uid), 'the pod updated before the restart is kept');
    for (const p of done.pods) assert.equal(p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL], shortHash(done.cs.status!.updateRevision!));
  });

  it('should recognise pods of either revision label form across coordinator restarts that switch CloneSetShortHash', async () => {
    const name = 'hash';
    const off = sandboxFeatureGates('CloneSetShortHash=false');
    const on = sandboxFeatureGates('');
    const podsNow = async (): Promise<Pod[]> => live(await listAll(name));
    const uids = (pods: readonly Pod[]) => new Map(pods.map((p) => [p.metadata.name!, p.metadata.uid!]));
    const label = (p: Pod): string => p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL]!;

    await sandbox.imagePull!.restartCoordinator(off);
    await sandbox.client.create(resources.cloneSets, manifest(name, 3, { type: 'InPlaceIfPossible', maxUnavailable: 1 }, false) as unknown as KubeObject);
    const first = await waitConverged(name, 3, '3 ready pods with the short hash off');
    const rev1 = first.cs.status!.updateRevision!;
    for (const p of first.pods) assert.equal(label(p), rev1, 'the full revision name with the gate off');

    // On: the 3 full-label Pods are updated already; a 4th Pod gets the short form; nothing is recreated or relabelled.
    await sandbox.imagePull!.restartCoordinator(on);
    await mergePatch(sandbox.client, resources.cloneSets, NS, name, { spec: { replicas: 4 } });
    const second = await waitConverged(name, 4, '4 ready pods with the short hash on', (cs) => cs.status?.updateRevision === rev1);
    await sleep(SETTLE_MS);
    const pods2 = await podsNow();
    assert.equal(pods2.length, 4);
    for (const [n, uid] of uids(first.pods)) {
      const p = pods2.find((q) => q.metadata.name === n);
      assert.equal(p?.metadata.uid, uid, `${n} kept`);
      assert.equal(label(p), rev1, `${n} not relabelled`);
      assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0, `${n} not updated in place`);
    }
    const added = pods2.find((p) => !first.pods.some((q) => q.metadata.name === p.metadata.name))!;
    assert.equal(label(added), shortHash(rev1), 'the new pod has the short hash');
    assert.equal(second.cs.status!.updatedReplicas, 4);
    assert.equal(second.cs.status!.currentRevision, rev1);

    // An update in place relabels every Pod with the new revision's short hash, keeping the Pods.
    await mergePatch(sandbox.client, resources.cloneSets, NS, name, {
      spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } } },
    });
    const third = await waitConverged(name, 4, 'the in-place update with the short hash on',
      (cs, ps) => cs.status?.updateRevision !== rev1 && cs.status?.currentRevision === cs.status?.updateRevision
        && ps.every((p) => p.status?.containerStatuses?.[0]?.image === 'nginx:1.25'));
    const rev2 = third.cs.status!.updateRevision!;
    assert.deepEqual(uids(third.pods), uids(pods2), 'no pod recreated');
    for (const p of third.pods) assert.equal(label(p), shortHash(rev2), `${p.metadata.name}: short hash of the new revision`);

    // Off again: the short-label Pods still count as updated; a 5th Pod gets the full name.
    await sandbox.imagePull!.restartCoordinator(off);
    await mergePatch(sandbox.client, resources.cloneSets, NS, name, { spec: { replicas: 5 } });
    const fourth = await waitConverged(name, 5, '5 ready pods with the short hash off again', (cs) => cs.status?.updateRevision === rev2);
    await sleep(SETTLE_MS);
    const pods4 = await podsNow();
    for (const [n, uid] of uids(third.pods)) {
      const p = pods4.find((q) => q.metadata.name === n);
      assert.equal(p?.metadata.uid, uid, `${n} kept`);
      assert.equal(label(p), shortHash(rev2), `${n} not relabelled`);
    }
    const added5 = pods4.find((p) => !third.pods.some((q) => q.metadata.name === p.metadata.name))!;
    assert.equal(label(added5), rev2, 'the new pod has the full revision name');
    assert.equal(fourth.cs.status!.updatedReplicas, 5);
    assert.equal(fourth.cs.status!.currentRevision, rev2);
    await sandbox.imagePull!.restartCoordinator(on);
  });
});

/**
 * CloneSet rollouts in the sandbox (issue 8; 3 nodes, built-in runtime, 0.2 s pulls), each on its own CloneSet:
 * - an in-place update of 6 two-container Pods in batches of 2 with image pre-download (spec §4.1, §4.7): the
 *   ImagePullJob for the changed container is created before any Pod changes and deleted once the rollout is done;
 *   only the changed container restarts;
 * - partition 100% → 20% → 60% → 0 → 60% with CloneSetPartitionRollback on and off (spec §5.3, §5.4): with the gate
 *   on, raising it while the revisions differ moves Pods back in place; once partition 0 has completed the rollout
 *   (currentRevision = updateRevision) raising it moves nothing, gate or not; with the gate off nothing ever moves.
 * What happened is read from watches recorded during each change; the sandbox's resourceVersions come from one
 * global counter, so events of different kinds can be ordered by them. "Nothing moved" is asserted once the
 * status reports the new generation: the reconcile writes the status only after its update pass has written the
 * Pods, so by then any move would be visible.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { ImagePullJob } from '../../src/api/imagepulljob-types.js';
import type { IntOrString, KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { CONTROLLER_REVISION_HASH_LABEL, IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION } from '../../src/api/well-known-keys.js';
import { shortHash } from '../../src/coordinator/cloneset/index.js';
import { mergePatch, resources, type ResourceRef } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
const OLD_IMAGE = 'nginx:alpine';
const NEW_IMAGE = 'nginx:1.25';
const HELPER_IMAGE = 'busybox:1.36';

type Container = { name: string; image: string };

function manifest(name: string, replicas: number, containers: Container[], updateStrategy: CloneSet['spec']['updateStrategy'],
  annotations: Record<string, string> = {}): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: NS, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers } },
      updateStrategy,
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const specImage = (p: Pod, container: string): string | undefined => p.spec.containers.find((c) => c.name === container)?.image;
const containerStatus = (p: Pod, container: string) => p.status?.containerStatuses?.find((c) => c.name === container);
const rv = (o: { metadata: { resourceVersion?: string } }): number => Number(o.metadata.resourceVersion);
const uids = (pods: readonly Pod[]): string[] => pods.map((p) => `${p.metadata.name!}/${p.metadata.uid!}`).sort();

/** One watch event (or an object listed when the recording started: `EXISTING`), in delivery order. */
interface Seen<T> { type: string; object: T }

describe('CloneSet rollouts in the sandbox (pre-download, partition, rollback)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-cs-rollout-'));
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
  const patchCs = async (name: string, patch: Record<string, unknown>): Promise<number> =>
    (await mergePatch(sandbox.client, resources.cloneSets, NS, name, patch)).metadata.generation!;
  const listPods = async (name: string): Promise<Pod[]> =>
    (await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${name}` })).items as unknown as Pod[];

  /** Every Pod of `name` ready and not deleting, `n` of them, and a status of the current generation saying so. */
  const waitSettled = (name: string, n: number, what: string, extra: (cs: CloneSet, pods: Pod[]) => boolean) =>
    waitFor(async () => {
      const [cs, pods] = await Promise.all([getCs(name), listPods(name)]);
      const s = cs.status;
      return pods.length === n && pods.every((p) => !p.metadata.deletionTimestamp && isReady(p))
        && s?.replicas === n && s.readyReplicas === n && s.observedGeneration === cs.metadata.generation
        && extra(cs, pods) ? { cs, pods } : undefined;
    }, what, 30_000);

  /** Records every watch event of `ref` objects labelled `app=<name>` from now until stopped. */
  const record = async <T>(ref: ResourceRef, name: string): Promise<{ seen: Seen<T>[]; stop(): Promise<void> }> => {
    const list = await sandbox.client.list(ref, { namespace: NS, labelSelector: `app=${name}` });
    const seen: Seen<T>[] = list.items.map((o) => ({ type: 'EXISTING', object: o as unknown as T }));
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of sandbox.client.watch<KubeObject>(ref, {
          namespace: NS, labelSelector: `app=${name}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: ac.signal,
        })) seen.push({ type: ev.type, object: ev.object as unknown as T });
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    return { seen, stop: async () => { ac.abort(); await watching; } };
  };

  /** The most Pods not ready at once, replaying the recorded events from the recorded starting list. */
  const maxNotReady = (seen: readonly Seen<Pod>[]): number => {
    const ready = new Map<string, boolean>();
    let most = 0;
    for (const { type, object: p } of seen) {
      if (type === 'DELETED') ready.delete(p.metadata.name!);
      else ready.set(p.metadata.name!, isReady(p));
      most = Math.max(most, [...ready.values()].filter((r) => !r).length);
    }
    return most;
  };

  it('should pre-download the changed image, then update 6 two-container pods in place, 2 at a time, restarting only that container', async () => {
    const name = 'predl';
    const containers = (app: string): Container[] => [{ name: 'app', image: app }, { name: 'helper', image: HELPER_IMAGE }];
    await sandbox.client.create(resources.cloneSets, manifest(name, 6, containers(OLD_IMAGE),
      { type: 'InPlaceIfPossible', partition: 0, maxUnavailable: 2 },
      { [IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION]: '3' }) as unknown as KubeObject);
    const first = await waitSettled(name, 6, '6 ready pods', (cs) => cs.status?.updatedReplicas === 6);
    const oldRev = first.cs.status!.updateRevision!;

    const pods = await record<Pod>(resources.pods, name);
    const jobs = await record<ImagePullJob>(resources.imagePullJobs, name);
    await patchCs(name, { spec: { template: { spec: { containers: containers(NEW_IMAGE) } } } });
    const done = await waitSettled(name, 6, 'the in-place rollout to finish', (cs) => cs.status?.updateRevision !== oldRev
      && cs.status?.currentRevision === cs.status?.updateRevision && cs.status?.updatedReadyReplicas === 6);
    const updateRev = done.cs.status!.updateRevision!;
    const jobName = `${updateRev}-app`;
    await waitFor(() => jobs.seen.some((e) => e.type === 'DELETED' && e.object.metadata.name === jobName),
      'the pre-download job to be deleted once the rollout is done');
    await Promise.all([pods.stop(), jobs.stop()]);

    // The job: one, for the changed container only, created before any Pod's spec changed.
    const added = jobs.seen.filter((e) => e.type === 'ADDED');
    assert.deepEqual(added.map((e) => e.object.metadata.name), [jobName], 'one job, for `app` only');
    const job = added[0]!.object;
    assert.equal(job.spec.image, NEW_IMAGE);
    assert.equal(job.spec.parallelism, 3, `from ${IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION}`);
    assert.deepEqual(job.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]),
      [['CloneSet', name, done.cs.metadata.uid, true]]);
    const firstPodChange = pods.seen.find((e) => e.type === 'MODIFIED' && specImage(e.object, 'app') === NEW_IMAGE);
    assert.ok(firstPodChange, 'the watch saw a pod get the new image');
    assert.ok(rv(job) < rv(firstPodChange.object),
      `job created (rv ${rv(job)}) before the first pod spec change (${firstPodChange.object.metadata.name!}, rv ${rv(firstPodChange.object)})`);
    assert.deepEqual((await sandbox.client.list(resources.imagePullJobs, { namespace: NS, labelSelector: `app=${name}` })).items, []);

    // The Pods: the same ones, updated in place, only `app` restarted, never more than 2 not ready.
    assert.deepEqual(uids(done.pods), uids(first.pods), 'same names and UIDs');
    for (const p of done.pods) {
      const n = p.metadata.name!;
      assert.equal(specImage(p, 'app'), NEW_IMAGE, n);
      assert.equal(specImage(p, 'helper'), HELPER_IMAGE, n);
      assert.equal(containerStatus(p, 'app')?.image, NEW_IMAGE, `${n}: app runs the new image`);
      assert.equal(containerStatus(p, 'app')?.restartCount, 1, `${n}: app restarted once`);
      assert.equal(containerStatus(p, 'helper')?.restartCount, 0, `${n}: helper not restarted`);
      assert.equal(p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL], shortHash(updateRev), n);
    }
    assert.equal(pods.seen.filter((e) => e.type === 'ADDED' || e.type === 'DELETED').length, 0, 'no pod created or deleted');
    const most = maxNotReady(pods.seen);
    assert.ok(most >= 1, 'the watch saw pods restart');
    assert.ok(most <= 2, `at most 2 pods not ready at once (maxUnavailable), saw ${most}`);
    assert.equal(done.cs.status!.updatedReplicas, 6);
  });

  describe('partition', () => {
    const setImage = (name: string, image: string) => patchCs(name, { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
    const setPartition = (name: string, partition: IntOrString) => patchCs(name, { spec: { updateStrategy: { partition } } });
    const onImage = (pods: readonly Pod[], image: string): Pod[] =>
      pods.filter((p) => specImage(p, 'app') === image && containerStatus(p, 'app')?.image === image);
    /** Pods whose spec image changed to `image` in the recorded events. */
    const movedTo = (seen: readonly Seen<Pod>[], image: string): Set<string> => {
      const last = new Map<string, string | undefined>();
      const moved = new Set<string>();
      for (const { object: p } of seen) {
        const prev = last.get(p.metadata.name!);
        const now = specImage(p, 'app');
        if (last.has(p.metadata.name!) && prev !== image && now === image) moved.add(p.metadata.name!);
        last.set(p.metadata.name!, now);
      }
      return moved;
    };

    /**
     * 5 ready Pods on OLD_IMAGE with partition 100%, then the template moves to NEW_IMAGE: nothing is updated; then
     * partition 20% updates 4 in place. Returns the Pods and the two revisions.
     */
    const fourOfFiveUpdated = async (name: string) => {
      await sandbox.client.create(resources.cloneSets, manifest(name, 5, [{ name: 'app', image: OLD_IMAGE }],
        { type: 'InPlaceIfPossible', partition: '100%', maxUnavailable: '100%' }) as unknown as KubeObject);
      const first = await waitSettled(name, 5, '5 ready pods', (cs) => cs.status?.updatedReplicas === 5);
      const oldRev = first.cs.status!.updateRevision!;

      const gen = await setImage(name, NEW_IMAGE);
      const held = await waitSettled(name, 5, 'the new revision observed with partition 100%',
        (cs) => cs.metadata.generation === gen && cs.status?.updateRevision !== oldRev);
      const newRev = held.cs.status!.updateRevision!;
      assert.equal(held.cs.status!.updatedReplicas, 0, 'partition 100%: no pod updated');
      assert.equal(held.cs.status!.currentRevision, oldRev);
      assert.deepEqual(uids(held.pods), uids(first.pods));
      assert.equal(onImage(held.pods, OLD_IMAGE).length, 5, 'all pods on the old image');
      for (const p of held.pods) assert.equal(p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL], shortHash(oldRev));

      await setPartition(name, '20%');
      const four = await waitSettled(name, 5, '4 of 5 pods updated with partition 20%',
        (cs, ps) => cs.status?.updatedReplicas === 4 && onImage(ps, NEW_IMAGE).length === 4);
      assert.deepEqual(uids(four.pods), uids(first.pods), 'updated in place');
      assert.equal(four.cs.status!.currentRevision, oldRev, 'partition > 0: currentRevision stays');
      return { pods: first.pods, oldRev, newRev, four };
    };

    /**
     * Partition 0 updates every Pod, so currentRevision becomes the update revision (§5.4); raising the partition
     * to 60% after that moves nothing back, whatever the gate says (§3.2 step 3, §5.3).
     */
    const completeThenRaise = async (name: string, pods: readonly Pod[], newRev: string): Promise<void> => {
      await setPartition(name, 0);
      const all = await waitSettled(name, 5, 'all pods updated with partition 0',
        (cs, ps) => cs.status?.updatedReplicas === 5 && cs.status.currentRevision === newRev && onImage(ps, NEW_IMAGE).length === 5);
      assert.deepEqual(uids(all.pods), uids(pods), 'updated in place');

      const rec = await record<Pod>(resources.pods, name);
      const gen = await setPartition(name, '60%');
      const kept = await waitSettled(name, 5, 'partition 60% observed after the rollout completed', (cs) => cs.metadata.generation === gen);
      await rec.stop();
      assert.equal(kept.cs.status!.updatedReplicas, 5, 'still 5 updated');
      assert.equal(kept.cs.status!.currentRevision, newRev);
      assert.deepEqual([...movedTo(rec.seen, OLD_IMAGE)], [], 'no pod moved back');
      assert.equal(onImage(kept.pods, NEW_IMAGE).length, 5, 'all pods keep the new image');
      assert.deepEqual(uids(kept.pods), uids(pods));
    };

    it('should roll updated pods back in place when the partition is raised before the rollout completes, with CloneSetPartitionRollback on', async () => {
      const name = 'part-on';
      const { pods, oldRev, newRev, four } = await fourOfFiveUpdated(name);
      const updatedBefore = new Set(onImage(four.pods, NEW_IMAGE).map((p) => p.metadata.name!));

      // Rollback needs currentRevision != updateRevision (§3.2 step 3), so the partition is raised while one Pod
      // still holds the old revision: 20% (4 updated) → 60% (2 updated, 3 on the old revision).
      const rec = await record<Pod>(resources.pods, name);
      await setPartition(name, '60%');
      const back = await waitSettled(name, 5, '2 pods rolled back with partition 60%',
        (cs, ps) => cs.status?.updatedReplicas === 2 && onImage(ps, OLD_IMAGE).length === 3);
      await rec.stop();
      assert.deepEqual(uids(back.pods), uids(pods), 'rolled back in place: same names and UIDs');
      const rolledBack = movedTo(rec.seen, OLD_IMAGE);
      assert.equal(rolledBack.size, 2, `two pods moved back: ${[...rolledBack].join(', ')}`);
      for (const p of back.pods) {
        const n = p.metadata.name!;
        const label = p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL];
        if (rolledBack.has(n)) {
          assert.ok(updatedBefore.has(n), `${n} was an updated pod`);
          assert.equal(label, shortHash(oldRev), `${n}: back on the current revision`);
          assert.equal(containerStatus(p, 'app')?.restartCount, 2, `${n}: restarted to update and to roll back`);
        } else {
          assert.equal(label, shortHash(updatedBefore.has(n) ? newRev : oldRev), n);
        }
      }
      assert.equal(back.cs.status!.currentRevision, oldRev);
      assert.equal(back.cs.status!.updateRevision, newRev);

      await completeThenRaise(name, pods, newRev);
    });

    it('should move no pod back when the partition is raised, before or after the rollout completes, with CloneSetPartitionRollback off', async () => {
      const name = 'part-off';
      await sandbox.imagePull!.restartCoordinator(sandboxFeatureGates('CloneSetPartitionRollback=false'));
      try {
        const { pods, oldRev, newRev, four } = await fourOfFiveUpdated(name);
        const rec = await record<Pod>(resources.pods, name);
        const gen = await setPartition(name, '60%');
        const kept = await waitSettled(name, 5, 'partition 60% observed', (cs) => cs.metadata.generation === gen);
        await rec.stop();
        assert.equal(kept.cs.status!.updatedReplicas, 4, 'still 4 updated');
        assert.equal(kept.cs.status!.currentRevision, oldRev, 'the revisions still differ: only the gate prevents the rollback');
        assert.equal(kept.cs.status!.updateRevision, newRev);
        assert.deepEqual([...movedTo(rec.seen, OLD_IMAGE)], [], 'no pod moved back');
        assert.deepEqual(onImage(kept.pods, NEW_IMAGE).map((p) => p.metadata.name).sort(),
          onImage(four.pods, NEW_IMAGE).map((p) => p.metadata.name).sort(), 'the same 4 pods on the new image');
        assert.deepEqual(uids(kept.pods), uids(pods));
        await completeThenRaise(name, pods, newRev);
      } finally {
        await sandbox.imagePull!.restartCoordinator(sandboxFeatureGates(''));
      }
    });
  });
});

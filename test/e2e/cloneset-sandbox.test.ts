/**
 * CloneSet end to end in the sandbox (3 nodes, built-in runtime, 0.2 s pulls): the coordinator's CloneSet
 * controller creates, scales, recreates and updates Pods that the emulated nodes run, with CloneSetShortHash on
 * (the sandbox turns it on). The steps share one CloneSet and run in order, each starting from the state the
 * previous one converged to. kubectl drives `scale` (the scale subresource) where it is installed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { Pod } from '../../src/api/pod-types.js';
import {
  CLONESET_INSTANCE_ID_LABEL, CONTROLLER_REVISION_HASH_LABEL, INPLACE_UPDATE_GRACE_ANNOTATION, LIFECYCLE_STATE_LABEL,
  POD_DELETION_COST_ANNOTATION,
} from '../../src/api/well-known-keys.js';
import { shortHash } from '../../src/coordinator/cloneset/index.js';
import type { KubeObject } from '../../src/api/meta.js';
import { mergePatch, resources } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
const NAME = 'sample';

function manifest(replicas: number): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name: NAME, namespace: NS, labels: { app: NAME } },
    spec: {
      replicas,
      selector: { matchLabels: { app: NAME } },
      template: {
        metadata: { labels: { app: NAME } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:alpine', ports: [{ containerPort: 80 }] }] },
      },
      updateStrategy: { type: 'InPlaceIfPossible', partition: 0, maxUnavailable: '20%' },
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('CloneSet end to end in the sandbox (built-in runtime)', () => {
  let dir: string;
  let sandbox: Sandbox;
  let kubectl: Kubectl | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-cs-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 3, imagePullSeconds: 0.2 },
    });
    if (!kubectlSkipReason()) kubectl = new Kubectl(sandbox.kubeconfigPath, join(dir, 'kubectl-cache'));
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const getCs = (): Promise<CloneSet> => sandbox.client.get<CloneSet>(resources.cloneSets, NS, NAME);
  const patchCs = (patch: Record<string, unknown>): Promise<KubeObject> => mergePatch(sandbox.client, resources.cloneSets, NS, NAME, patch);
  const listPods = async (): Promise<Pod[]> => {
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` });
    return (list.items as unknown as Pod[]).filter((p) => !p.metadata.deletionTimestamp);
  };
  /** All Pods gone but `n` ready ones, and the status says the same. */
  const waitConverged = (n: number, what: string, timeoutMs = 20_000, extra: (cs: CloneSet, pods: Pod[]) => boolean = () => true) =>
    waitFor(async () => {
      const [cs, all] = await Promise.all([getCs(), sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` })]);
      const pods = all.items as unknown as Pod[];
      const s = cs.status;
      const ok = pods.length === n && pods.every((p) => !p.metadata.deletionTimestamp && isReady(p))
        && s?.replicas === n && s.readyReplicas === n && s.updatedReplicas === n && s.observedGeneration === cs.metadata.generation
        && extra(cs, pods);
      return ok ? { cs, pods } : undefined;
    }, what, timeoutMs);
  const scale = async (replicas: number): Promise<void> => {
    if (kubectl) await kubectl.ok(['scale', 'clonesets.apps.kruise.io', NAME, `--replicas=${replicas}`]);
    else await patchCs({ spec: { replicas } });
  };

  it('should create 3 running, ready pods with the short revision hash, instance id and lifecycle labels', async () => {
    await sandbox.client.create(resources.cloneSets, manifest(3) as unknown as KubeObject);
    const { cs, pods } = await waitConverged(3, '3 ready pods');
    const rev = cs.status!.updateRevision!;
    assert.equal(cs.status!.currentRevision, rev);
    assert.equal(cs.status!.availableReplicas, 3);
    assert.equal(cs.status!.updatedReadyReplicas, 3);
    assert.equal(cs.status!.labelSelector, `app=${NAME}`);
    assert.match(rev, new RegExp(`^${NAME}-[456789bcdf]+$`));
    for (const p of pods) {
      const labels = p.metadata.labels!;
      assert.equal(labels[CONTROLLER_REVISION_HASH_LABEL], shortHash(rev), 'short hash with CloneSetShortHash on');
      const id = labels[CLONESET_INSTANCE_ID_LABEL]!;
      assert.match(id, /^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(p.metadata.name, `${NAME}-${id}`);
      assert.equal(labels[LIFECYCLE_STATE_LABEL], 'Normal');
      assert.ok(p.spec.readinessGates?.some((g) => g.conditionType === 'InPlaceUpdateReady'));
      assert.equal(p.status?.conditions?.find((c) => c.type === 'InPlaceUpdateReady')?.status, 'True');
      assert.equal(p.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid);
    }
  });

  it('should scale to 5 and back to 2, deleting the pods with the lowest deletion cost first', async () => {
    await scale(5);
    const { pods } = await waitConverged(5, '5 ready pods');
    const sorted = [...pods].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    // Costs 50, 40, 30, 20, 10 in name order: the last three names have the lowest costs and must go.
    for (const [i, p] of sorted.entries()) {
      await mergePatch(sandbox.client, resources.pods, NS, p.metadata.name!, { metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: String(50 - 10 * i) } } });
    }
    await scale(2);
    const after2 = await waitConverged(2, '2 ready pods');
    assert.deepEqual(after2.pods.map((p) => p.metadata.name).sort(), sorted.slice(0, 2).map((p) => p.metadata.name));
  });

  it('should recreate a pod named in podsToDelete and prune the name', async () => {
    const before2 = await listPods();
    const victim = before2[0]!.metadata.name!;
    await patchCs({ spec: { scaleStrategy: { podsToDelete: [victim] } } });
    const { cs, pods } = await waitConverged(2, 'the replacement to be ready', 20_000,
      (_cs, ps) => !ps.some((p) => p.metadata.name === victim));
    assert.ok(pods.some((p) => p.metadata.name === before2[1]!.metadata.name), 'the other pod is kept');
    await waitFor(async () => ((await getCs()).spec.scaleStrategy?.podsToDelete ?? []).length === 0, 'podsToDelete pruned');
    assert.equal(cs.status!.replicas, 2);
  });

  it('should update 5 pods in place, one not-ready pod at a time with maxUnavailable 1', async () => {
    await scale(5);
    await waitConverged(5, '5 ready pods');
    const before5 = await listPods();
    const oldRev = (await getCs()).status!.updateRevision!;

    // Watch every pod's Ready condition while the update runs.
    const ready = new Map(before5.map((p) => [p.metadata.name!, isReady(p)]));
    let maxNotReady = 0;
    const watchAbort = new AbortController();
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` });
    const watching = (async () => {
      try {
        for await (const ev of sandbox.client.watch<KubeObject>(resources.pods, {
          namespace: NS, labelSelector: `app=${NAME}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: watchAbort.signal,
        })) {
          const p = ev.object as unknown as Pod;
          if (ev.type === 'DELETED') ready.delete(p.metadata.name!);
          else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') ready.set(p.metadata.name!, isReady(p));
          maxNotReady = Math.max(maxNotReady, [...ready.values()].filter((r) => !r).length);
        }
      } catch (e) {
        if (!watchAbort.signal.aborted) throw e;
      }
    })();

    await patchCs({ spec: { updateStrategy: { maxUnavailable: 1 }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } } } });
    const { cs, pods } = await waitConverged(5, 'the in-place update to finish', 60_000,
      (c) => c.status?.updateRevision !== oldRev && c.status?.currentRevision === c.status?.updateRevision);
    watchAbort.abort();
    await watching;

    assert.notEqual(cs.status!.currentRevision, oldRev, 'currentRevision advanced');
    assert.equal(cs.status!.updatedReplicas, 5);
    assert.deepEqual(pods.map((p) => [p.metadata.name, p.metadata.uid]).sort(), before5.map((p) => [p.metadata.name, p.metadata.uid]).sort(),
      'names and uids kept');
    for (const p of pods) {
      assert.equal(p.spec.containers[0]!.image, 'nginx:1.25');
      assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 1);
      assert.equal(p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL], shortHash(cs.status!.updateRevision!));
      assert.equal(p.metadata.labels![LIFECYCLE_STATE_LABEL], 'Normal');
    }
    assert.ok(maxNotReady >= 1, 'the watch saw pods restart');
    assert.equal(maxNotReady, 1, 'at most one pod not ready at a time');
  });

  it('should leave 2 of 5 pods on the old revision with partition 2', async () => {
    const oldRev = (await getCs()).status!.updateRevision!;
    await patchCs({ spec: { updateStrategy: { partition: 2, maxUnavailable: 2 }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80 }] }] } } } });
    const { cs, pods } = await waitFor(async () => {
      const c = await getCs();
      const ps = await listPods();
      return c.status?.updatedReplicas === 3 && c.status.readyReplicas === 5 && c.status.updateRevision !== oldRev
        && ps.filter(isReady).length === 5 ? { cs: c, pods: ps } : undefined;
    }, '3 updated pods', 60_000);
    const byImage = (image: string) => pods.filter((p) => p.spec.containers[0]!.image === image).length;
    assert.equal(byImage('nginx:1.26'), 3);
    assert.equal(byImage('nginx:1.25'), 2);
    assert.equal(cs.status!.currentRevision, oldRev, 'currentRevision stays while partition holds pods back');
    assert.equal(pods.filter((p) => p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL] === shortHash(oldRev)).length, 2);
  });

  it('should hold each pod not ready for the 2 s grace period before changing its image in place', async () => {
    const GRACE_S = 2;
    const IMAGE = 'nginx:1.27';
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` });
    const oldRev = (await getCs()).status!.updateRevision!;
    // Per pod: when the watch first saw it not ready with its old image, and when it first saw the new image.
    const notReadyBeforeImage = new Map<string, number>();
    const imageChangedAt = new Map<string, number>();
    const graceStartedAt = new Map<string, number>();
    const watchAbort = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of sandbox.client.watch<KubeObject>(resources.pods, {
          namespace: NS, labelSelector: `app=${NAME}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: watchAbort.signal,
        })) {
          if (ev.type !== 'MODIFIED') continue;
          const p = ev.object as unknown as Pod;
          const name = p.metadata.name!;
          const grace = p.metadata.annotations?.[INPLACE_UPDATE_GRACE_ANNOTATION];
          if (grace && !graceStartedAt.has(name)) graceStartedAt.set(name, Date.parse((JSON.parse(grace) as { startedAt: string }).startedAt));
          const inPlaceReady = p.status?.conditions?.find((c) => c.type === 'InPlaceUpdateReady')?.status;
          if (p.spec.containers[0]!.image !== IMAGE) {
            if (inPlaceReady === 'False' && !isReady(p) && !notReadyBeforeImage.has(name)) notReadyBeforeImage.set(name, Date.now());
          } else if (!imageChangedAt.has(name)) {
            imageChangedAt.set(name, Date.now());
          }
        }
      } catch (e) {
        if (!watchAbort.signal.aborted) throw e;
      }
    })();

    await patchCs({ spec: {
      updateStrategy: { partition: 0, maxUnavailable: 5, inPlaceUpdateStrategy: { gracePeriodSeconds: GRACE_S } },
      template: { spec: { containers: [{ name: 'nginx', image: IMAGE, ports: [{ containerPort: 80 }] }] } },
    } });
    const { pods } = await waitConverged(5, 'the in-place update with a grace period to finish', 60_000,
      (c, ps) => c.status?.updateRevision !== oldRev && c.status?.currentRevision === c.status?.updateRevision
        && ps.every((p) => p.spec.containers[0]!.image === IMAGE && p.metadata.labels![LIFECYCLE_STATE_LABEL] === 'Normal'));
    watchAbort.abort();
    await watching;

    for (const p of pods) {
      const name = p.metadata.name!;
      assert.equal(p.metadata.annotations?.[INPLACE_UPDATE_GRACE_ANNOTATION], undefined, `${name}: grace annotation removed`);
      const notReady = notReadyBeforeImage.get(name);
      const changed = imageChangedAt.get(name);
      const started = graceStartedAt.get(name);
      assert.ok(notReady !== undefined, `${name}: seen not ready (InPlaceUpdateReady=False) with its old image`);
      assert.ok(changed !== undefined && started !== undefined, `${name}: grace annotation and image change seen`);
      assert.ok(notReady < changed, `${name}: not ready before the image changed`);
      assert.ok(changed - started >= GRACE_S * 1000, `${name}: image changed ${changed - started} ms after the update started`);
    }
  });

  it('should recreate pods with ReCreate, with one PVC per instance id that goes with its pod', async () => {
    const name = 'recreate';
    const cs = manifest(2);
    cs.metadata = { name, namespace: NS };
    cs.spec.selector = { matchLabels: { app: name } };
    cs.spec.template.metadata = { labels: { app: name } };
    cs.spec.updateStrategy = { type: 'ReCreate', maxUnavailable: 1 };
    cs.spec.volumeClaimTemplates = [{
      metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    }];
    await sandbox.client.create(resources.cloneSets, cs as unknown as KubeObject);
    const state = async () => {
      const [c, ps, pvcs] = await Promise.all([
        sandbox.client.get<CloneSet>(resources.cloneSets, NS, name),
        sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${name}` }),
        sandbox.client.list(resources.persistentVolumeClaims, { namespace: NS, labelSelector: `app=${name}` }),
      ]);
      return { cs: c, pods: ps.items as unknown as Pod[], pvcs: pvcs.items };
    };
    const converged = (n: number, what: string, extra: (s: Awaited<ReturnType<typeof state>>) => boolean = () => true) => waitFor(async () => {
      const s = await state();
      return s.pods.length === n && s.pods.every(isReady) && s.pvcs.length === n && s.cs.status?.updatedReplicas === n
        && s.cs.status.readyReplicas === n && extra(s) ? s : undefined;
    }, what, 30_000);
    const first = await converged(2, '2 ready pods with PVCs');
    const claimNames = (s: typeof first) => s.pods.map((p) => `data-${name}-${p.metadata.labels![CLONESET_INSTANCE_ID_LABEL]!}`).sort();
    assert.deepEqual(first.pvcs.map((c) => c.metadata.name).sort(), claimNames(first));
    for (const p of first.pods) {
      const id = p.metadata.labels![CLONESET_INSTANCE_ID_LABEL]!;
      assert.ok(p.spec.volumes?.some((v) => v.name === 'data' && v.persistentVolumeClaim?.claimName === `data-${name}-${id}`));
    }

    const oldRev = first.cs.status!.updateRevision!;
    await mergePatch(sandbox.client, resources.cloneSets, NS, name, {
      spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:alpine', env: [{ name: 'V', value: '2' }] }] } } },
    });
    const second = await converged(2, 'the recreated pods', (s) => s.cs.status?.currentRevision !== oldRev
      && s.pods.every((p) => !first.pods.some((q) => q.metadata.name === p.metadata.name)));
    assert.deepEqual(second.pvcs.map((c) => c.metadata.name).sort(), claimNames(second), 'old PVCs deleted with their pods');
    assert.ok(second.pods.every((p) => p.status?.containerStatuses?.[0]?.restartCount === 0), 'new pods, not restarts');

    await mergePatch(sandbox.client, resources.cloneSets, NS, name, { spec: { replicas: 1 } });
    const third = await converged(1, 'scale-in to 1');
    assert.deepEqual(third.pvcs.map((c) => c.metadata.name), claimNames(third));
  });
});

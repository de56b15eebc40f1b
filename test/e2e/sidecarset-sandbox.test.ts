/**
 * SidecarSet end to end in the sandbox on the built-in runtime (issue 9): `startSandbox` with 2 nodes runs the Pod
 * webhook `mpod.kb.io` (injection at creation) and the coordinator's SidecarSet controller as a cluster would. The
 * emulated kubelet restarts a container whose spec image changed, which is how a ColdUpgrade lands.
 *
 * Observations, not sleeps, wherever possible: every rollout is sampled from the API (one list = one consistent
 * snapshot) and the samples must never show more sidecar-unavailable Pods than maxUnavailable. The few fixed waits
 * check that something does *not* happen (partition, paused).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import type { SidecarSet, SidecarSetStatus } from '../../src/api/sidecarset-types.js';
import { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../src/coordinator/sidecarset/hot-upgrade-request.js';
import { resources, retryOnConflict } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

function podManifest(name: string, app: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  } as KubeObject;
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const specImage = (p: Pod, c: string): string | undefined => p.spec.containers.find((x) => x.name === c)?.image;
const statusImage = (p: Pod, c: string): string | undefined => p.status?.containerStatuses?.find((x) => x.name === c)?.image;
const statusTuple = (s: SidecarSetStatus | undefined): number[] => [s?.matchedPods ?? 0, s?.updatedPods ?? 0, s?.readyPods ?? 0, s?.updatedReadyPods ?? 0];

describe('SidecarSet in the sandbox (built-in runtime)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-ssc-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 2, imagePullSeconds: 0.1 },
    });
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const listPods = async (app: string): Promise<Pod[]> =>
    (await sandbox.client.list(resources.pods, { namespace: 'default', labelSelector: `app=${app}` })).items as unknown as Pod[];
  const getSet = (name: string): Promise<SidecarSet> => sandbox.client.get<SidecarSet>(resources.sidecarSets, '', name);
  const editSet = (name: string, edit: (s: SidecarSet) => void): Promise<SidecarSet> => retryOnConflict(async () => {
    const s = await getSet(name);
    edit(s);
    return sandbox.client.update<SidecarSet>(resources.sidecarSets, s);
  });
  const waitStatus = (name: string, want: number[], timeoutMs = 20_000): Promise<SidecarSet> => waitFor(async () => {
    const s = await getSet(name);
    return JSON.stringify(statusTuple(s.status)) === JSON.stringify(want) && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
  }, `${name} status [matched, updated, ready, updatedReady] = ${JSON.stringify(want)}`, timeoutMs);
  const waitAllReady = (app: string, n: number): Promise<Pod[]> => waitFor(async () => {
    const pods = await listPods(app);
    return pods.length === n && pods.every(isReady) ? pods : undefined;
  }, `${n} ${app} pods Ready`, 20_000);

  /**
   * Samples pods until `done` holds, and returns the most Pods seen at once whose `container` is on `image` in the
   * spec but not yet running it Ready (the rollout's unavailable Pods).
   */
  async function observeRollout(app: string, container: string, image: string, done: (pods: Pod[]) => boolean, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let max = 0;
    for (;;) {
      const pods = await listPods(app);
      const unavailable = pods.filter((p) => specImage(p, container) === image && !(isReady(p) && statusImage(p, container) === image)).length;
      max = Math.max(max, unavailable);
      if (done(pods)) return max;
      if (Date.now() > deadline) throw new Error(`rollout of ${image} did not finish: ${JSON.stringify(pods.map((p) => [p.metadata.name, specImage(p, container), statusImage(p, container), isReady(p)]))}`);
      await sleep(25);
    }
  }

  it('should inject the ColdUpgrade sidecar at creation, then upgrade pods one at a time, honour partition and paused', async () => {
    await sandbox.client.create(resources.sidecarSets, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'log-sidecarset' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        containers: [{ name: 'log-agent', image: 'log-agent:1', volumeMounts: [{ name: 'log-volume', mountPath: '/var/log' }] }],
        volumes: [{ name: 'log-volume', emptyDir: {} }],
        updateStrategy: { maxUnavailable: 1 },
      },
    } as KubeObject);
    for (const n of ['web-0', 'web-1', 'web-2']) await sandbox.client.create(resources.pods, podManifest(n, 'web'));

    const pods = await waitAllReady('web', 3);
    const set = await getSet('log-sidecarset');
    for (const p of pods) {
      assert.deepEqual(p.spec.containers.map((c) => [c.name, c.image]), [['log-agent', 'log-agent:1'], ['app', 'nginx:1.25']], p.metadata.name);
      assert.deepEqual(p.spec.volumes?.map((v) => v.name).filter((n) => n === 'log-volume'), ['log-volume']);
      const a = p.metadata.annotations ?? {};
      assert.equal(a['kruise.io/sidecarset-injected-list'], 'log-sidecarset');
      assert.equal(JSON.parse(a['kruise.io/sidecarset-hash']!)['log-sidecarset'].hash, set.metadata.annotations?.['kruise.io/sidecarset-hash']);
    }
    await waitStatus('log-sidecarset', [3, 3, 3, 3]);

    // Image change: one pod at a time (maxUnavailable 1), then everything updated and ready.
    await editSet('log-sidecarset', (s) => { s.spec.containers![0]!.image = 'log-agent:2'; });
    const maxUnavailable = await observeRollout('web', 'log-agent', 'log-agent:2',
      (ps) => ps.every((p) => statusImage(p, 'log-agent') === 'log-agent:2' && isReady(p)));
    assert.equal(maxUnavailable, 1, 'exactly one pod upgrading at any time');
    const upgraded = await waitStatus('log-sidecarset', [3, 3, 3, 3]);
    for (const p of await listPods('web')) {
      assert.ok((p.status?.containerStatuses?.find((c) => c.name === 'log-agent')?.restartCount ?? 0) >= 1, 'restarted in place, not recreated');
      assert.equal(JSON.parse(p.metadata.annotations!['kruise.io/sidecarset-hash']!)['log-sidecarset'].hash, upgraded.metadata.annotations?.['kruise.io/sidecarset-hash']);
    }

    const events = (await sandbox.client.list(resources.events, { namespace: 'default' })).items as unknown as { reason?: string; involvedObject?: { name?: string } }[];
    assert.deepEqual([...new Set(events.filter((e) => e.reason === 'SidecarUpgraded').map((e) => e.involvedObject?.name))].sort(), ['web-0', 'web-1', 'web-2']);

    // partition 2: one pod moves to :3, two stay on :2.
    await editSet('log-sidecarset', (s) => {
      s.spec.containers![0]!.image = 'log-agent:3';
      s.spec.updateStrategy = { ...s.spec.updateStrategy, partition: 2 };
    });
    await waitStatus('log-sidecarset', [3, 1, 3, 1]);
    await sleep(1500);
    const afterPartition = await listPods('web');
    assert.deepEqual(afterPartition.map((p) => specImage(p, 'log-agent')).sort(), ['log-agent:2', 'log-agent:2', 'log-agent:3']);

    // paused: lifting the partition moves nothing while paused.
    await editSet('log-sidecarset', (s) => { s.spec.updateStrategy = { ...s.spec.updateStrategy, partition: 0, paused: true }; });
    await sleep(1500);
    assert.deepEqual((await listPods('web')).map((p) => specImage(p, 'log-agent')).sort(), ['log-agent:2', 'log-agent:2', 'log-agent:3']);
    assert.deepEqual(statusTuple((await getSet('log-sidecarset')).status), [3, 1, 3, 1]);

    // resumed: the rest follows, still one at a time.
    await editSet('log-sidecarset', (s) => { s.spec.updateStrategy = { ...s.spec.updateStrategy, paused: false }; });
    const resumed = await observeRollout('web', 'log-agent', 'log-agent:3',
      (ps) => ps.every((p) => statusImage(p, 'log-agent') === 'log-agent:3' && isReady(p)));
    assert.ok(resumed <= 1, `at most one unavailable, saw ${resumed}`);
    await waitStatus('log-sidecarset', [3, 3, 3, 3]);
  });

  /**
   * Samples every shop pod's pair until stopped, through the built-in runtimes (ground truth) and the pod status,
   * and returns the samples in which neither `proxy-1` nor `proxy-2` ran a non-empty image (the swap invariant).
   */
  function sampleInvariant(app: string, emptyImage: string): { stop: () => Promise<{ samples: number; violations: string[] }> } {
    let stopped = false;
    const violations: string[] = [];
    let samples = 0;
    const loop = (async () => {
      while (!stopped) {
        const pods = await listPods(app);
        const running = new Map<string, string[]>();
        for (const rt of sandbox.nodes!.runtimes) {
          for (const c of (await rt.listContainers({})).containers ?? []) {
            const name = c.labels?.['io.kubernetes.container.name'] ?? '';
            if (c.state !== 'CONTAINER_RUNNING' || !/^proxy-[12]$/.test(name)) continue;
            const uid = c.labels?.['io.kubernetes.pod.uid'] ?? '';
            running.set(uid, [...(running.get(uid) ?? []), `${name}=${c.image?.image ?? ''}`]);
          }
        }
        for (const p of pods) {
          const live = running.get(p.metadata.uid ?? '') ?? [];
          if (!live.some((x) => !x.endsWith(`=${emptyImage}`))) violations.push(`runtime ${p.metadata.name}: ${JSON.stringify(live)}`);
          const st = (p.status?.containerStatuses ?? []).filter((c) => /^proxy-[12]$/.test(c.name) && c.state?.running !== undefined && c.image !== emptyImage);
          if (isReady(p) && st.length === 0) violations.push(`status ${p.metadata.name}: ${JSON.stringify(p.status?.containerStatuses)}`);
        }
        samples++;
        await sleep(20);
      }
    })();
    return { stop: async () => { stopped = true; await loop; return { samples, violations }; } };
  }

  it('should hot-upgrade a HotUpgrade sidecar through the agent: swap to X-2, reset X-1, and back, always one serving', async () => {
    await sandbox.client.create(resources.sidecarSets, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'proxy-sidecarset' },
      spec: {
        selector: { matchLabels: { app: 'shop' } },
        containers: [{ name: 'proxy', image: 'proxy:1', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'proxy-empty:1' } }],
        updateStrategy: { maxUnavailable: 2 },
      },
    } as KubeObject);
    for (const n of ['shop-0', 'shop-1']) await sandbox.client.create(resources.pods, podManifest(n, 'shop'));
    for (const p of await waitAllReady('shop', 2)) {
      assert.deepEqual(p.spec.containers.map((c) => [c.name, c.image]), [['proxy-1', 'proxy:1'], ['proxy-2', 'proxy-empty:1'], ['app', 'nginx:1.25']]);
      const a = p.metadata.annotations ?? {};
      assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"proxy":"proxy-1"}');
      assert.deepEqual([a['version.sidecarset.kruise.io/proxy-1'], a['versionalt.sidecarset.kruise.io/proxy-1'],
        a['version.sidecarset.kruise.io/proxy-2'], a['versionalt.sidecarset.kruise.io/proxy-2']], ['1', '0', '0', '1']);
    }
    await waitStatus('proxy-sidecarset', [2, 2, 2, 2]);
    const sampler = sampleInvariant('shop', 'proxy-empty:1');

    /** Every pod settled on `working` with `image`, the other on the empty image, no request left, swap Succeeded. */
    const waitSwapped = (working: string, other: string, image: string): Promise<Pod[]> => waitFor(async () => {
      const ps = await listPods('shop');
      const done = ps.length === 2 && ps.every((p) => {
        const a = p.metadata.annotations ?? {};
        return a[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] === undefined
          && a['kruise.io/sidecarset-working-hotupgrade-container'] === `{"proxy":"${working}"}`
          && specImage(p, working) === image && specImage(p, other) === 'proxy-empty:1'
          && statusImage(p, working) === image && statusImage(p, other) === 'proxy-empty:1' && isReady(p)
          && JSON.parse(a['kruise-ts.io/sidecarset-hot-upgrade-status'] ?? '{}').phase === 'Succeeded';
      });
      return done ? ps : undefined;
    }, `pods working ${working} on ${image}, ${other} empty`, 30_000);

    // proxy:1 → proxy:2: the agent swaps to proxy-2 and resets proxy-1.
    const edited = await editSet('proxy-sidecarset', (s) => { s.spec.containers![0]!.image = 'proxy:2'; });
    const rv = edited.metadata.resourceVersion;
    for (const p of await waitSwapped('proxy-2', 'proxy-1', 'proxy:2')) {
      const a = p.metadata.annotations!;
      // §7.5: step 2 then step 4.
      assert.deepEqual([a['version.sidecarset.kruise.io/proxy-2'], a['versionalt.sidecarset.kruise.io/proxy-2'],
        a['version.sidecarset.kruise.io/proxy-1'], a['versionalt.sidecarset.kruise.io/proxy-1']], [rv, '0', '0', rv]);
      const st = JSON.parse(a['kruise-ts.io/sidecarset-hot-upgrade-status']!);
      assert.equal(st.resourceVersion, rv);
      assert.deepEqual(st.target, { proxy: 'proxy-2' });
      assert.ok(st.durationMs >= 0 && st.finishedAt, JSON.stringify(st));
    }
    await waitStatus('proxy-sidecarset', [2, 2, 2, 2]);

    // And back: proxy-1 gets proxy:1 and works again, proxy-2 is emptied.
    await editSet('proxy-sidecarset', (s) => { s.spec.containers![0]!.image = 'proxy:1'; });
    await waitSwapped('proxy-1', 'proxy-2', 'proxy:1');
    await waitStatus('proxy-sidecarset', [2, 2, 2, 2]);

    const { samples, violations } = await sampler.stop();
    assert.ok(samples > 5, `sampled ${samples} times`);
    assert.deepEqual(violations, [], 'at every sample one of proxy-1/proxy-2 ran a non-empty image');

    const events = (await sandbox.client.list(resources.events, { namespace: 'default' })).items as unknown as { reason?: string; involvedObject?: { name?: string } }[];
    for (const reason of ['SidecarHotUpgradeRequested', 'SidecarHotUpgraded', 'ResetContainerSucceed']) {
      assert.deepEqual([...new Set(events.filter((e) => e.reason === reason).map((e) => e.involvedObject?.name))].sort(), ['shop-0', 'shop-1'], reason);
    }
    const metrics = await sandbox.imagePull!.agentRegistry.getSingleMetricAsString('kruise_agent_sidecar_hot_upgrades_total');
    assert.match(metrics, /kruise_agent_sidecar_hot_upgrades_total\{result="succeeded"\} 4/);
  });

  it('should keep the Pod Ready through a hot swap of a probe-less sidecar whose postStart takes a second', async () => {
    await sandbox.client.create(resources.sidecarSets, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'relay-sidecarset' },
      spec: {
        selector: { matchLabels: { app: 'relay' } },
        containers: [{
          name: 'relay', image: 'relay:1', lifecycle: { postStart: { exec: { command: ['sleep', '1'] } } },
          upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'relay-empty:1' },
        }],
        updateStrategy: { maxUnavailable: 1 },
      },
    } as KubeObject);
    await sandbox.client.create(resources.pods, podManifest('relay-0', 'relay'));
    await waitAllReady('relay', 1);
    await waitStatus('relay-sidecarset', [1, 1, 1, 1]);

    // Every version of the Pod from here on, through a watch: a Ready=False in any of them is a flicker.
    const listed = await sandbox.client.list(resources.pods, { namespace: 'default', labelSelector: 'app=relay' });
    const stop = new AbortController();
    const seen: { ready: string | undefined; phase: string | undefined; relay2: string | undefined }[] = [];
    const watching = (async () => {
      for await (const ev of sandbox.client.watch<Pod & KubeObject>(resources.pods, {
        namespace: 'default', labelSelector: 'app=relay', resourceVersion: listed.metadata.resourceVersion, signal: stop.signal,
      })) {
        if (ev.type !== 'MODIFIED' && ev.type !== 'ADDED') continue;
        const p = ev.object;
        seen.push({
          ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
          phase: JSON.parse(p.metadata.annotations?.['kruise-ts.io/sidecarset-hot-upgrade-status'] ?? '{}').phase,
          relay2: statusImage(p, 'relay-2'),
        });
      }
    })();

    await editSet('relay-sidecarset', (s) => { s.spec.containers![0]!.image = 'relay:2'; });
    const [swapped] = await waitFor(async () => {
      const ps = await listPods('relay');
      return ps.length === 1 && ps.every((p) => isReady(p) && statusImage(p, 'relay-1') === 'relay-empty:1' && statusImage(p, 'relay-2') === 'relay:2'
        && JSON.parse(p.metadata.annotations?.['kruise-ts.io/sidecarset-hot-upgrade-status'] ?? '{}').phase === 'Succeeded') ? ps : undefined;
    }, 'relay-0 swapped to relay-2 on relay:2', 30_000);
    await waitFor(async () => (seen.some((x) => x.phase === 'Succeeded') ? true : undefined), 'the watch saw the swap end', 10_000);
    stop.abort();
    await watching;

    const st = JSON.parse(swapped!.metadata.annotations!['kruise-ts.io/sidecarset-hot-upgrade-status']!);
    assert.ok(st.durationMs >= 2000, `both postStart hooks (new container, reset) ran inside the swap: ${JSON.stringify(st)}`);
    assert.ok(seen.some((x) => x.phase === 'WaitingTarget') && seen.some((x) => x.phase === 'WaitingReset'), JSON.stringify(seen));
    assert.ok(seen.some((x) => x.relay2 === 'relay:2'), 'the watch saw the new container published');
    assert.deepEqual(seen.filter((x) => x.ready !== 'True'), [], 'the Pod stayed Ready in every version of it');
    for (const name of ['relay-1', 'relay-2']) {
      assert.equal(swapped!.status?.containerStatuses?.find((c) => c.name === name)?.restartCount, 1, `${name} restarted in place once`);
    }
  });
});

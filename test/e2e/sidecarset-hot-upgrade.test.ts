/**
 * SidecarSet HotUpgrade end to end in the sandbox on the built-in runtime (issue 9, spec §7.5): the coordinator
 * writes swap requests within maxUnavailable, each node's agent runs the swap (switch, wait for the new container,
 * reset the old one) and the emulated kubelet restarts containers whose spec image changed.
 *
 * What is observed, and how:
 * - a Pod watch (every write in order, nothing missed between polls) gives the Pods mid-swap at once and the pair's
 *   states as the Pod status reports them;
 * - the runtimes' own record of container starts and exits (test/support/builtin-container-transitions.ts) checks
 *   the swap invariant at every transition: one of `X-1`/`X-2` always runs a real (non-empty) image;
 * - waits are on conditions with deadlines; the only fixed waits check that something does NOT happen (a second
 *   Pod held back by maxUnavailable after a failure).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION } from '../../src/api/sidecarset-hot-upgrade.js';
import type { SidecarSet, SidecarSetStatus } from '../../src/api/sidecarset-types.js';
import { SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION } from '../../src/api/well-known-keys.js';
import { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../src/coordinator/sidecarset/hot-upgrade-request.js';
import { resources, retryOnConflict } from '../../src/kube/index.js';
import { STOP_DELAY_ANNOTATION } from '../../src/sandbox/cri/builtin-runtime.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { pairInvariantViolations, recordContainerTransitions, runningContainers } from '../support/builtin-container-transitions.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
/** The agents' `--hot-upgrade-timeout`: short, so a failing image fails within the test. */
const HOT_UPGRADE_TIMEOUT_MS = 8000;

const isReady = (p: Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const specImage = (p: Pod, c: string): string | undefined => p.spec.containers.find((x) => x.name === c)?.image;
const containerStatus = (p: Pod, c: string) => p.status?.containerStatuses?.find((x) => x.name === c);
const statusTuple = (s: SidecarSetStatus | undefined): number[] => [s?.matchedPods ?? 0, s?.updatedPods ?? 0, s?.readyPods ?? 0, s?.updatedReadyPods ?? 0];
const annotation = (p: Pod, key: string): string | undefined => p.metadata.annotations?.[key];
const working = (p: Pod): string | undefined => annotation(p, SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION);

interface SwapStatusView {
  phase?: string; resourceVersion?: string; startedAt?: string; switchedAt?: string; resetAt?: string; message?: string;
  target?: Record<string, string>;
}
const swapStatus = (p: Pod): SwapStatusView | undefined => {
  const raw = annotation(p, SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION);
  return raw === undefined ? undefined : JSON.parse(raw) as SwapStatusView;
};
/** A Pod is mid-swap from the request's arrival until the agent finished (the request removed with the final status). */
const midSwap = (p: Pod): boolean => annotation(p, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION) !== undefined;

function podManifest(name: string, app: string, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app }, annotations },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  } as KubeObject;
}

/** A SidecarSet with one HotUpgrade sidecar whose postStart runs `postStart` (the state hand-over of §7.5 step 3). */
function hotSet(name: string, app: string, sidecar: string, image: string, postStart: string[]): KubeObject {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name },
    spec: {
      selector: { matchLabels: { app } },
      containers: [{
        name: sidecar, image, lifecycle: { postStart: { exec: { command: postStart } } },
        upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: `${sidecar}-empty:1` },
      }],
      updateStrategy: { maxUnavailable: 1 },
    },
  } as KubeObject;
}

describe('SidecarSet HotUpgrade in the sandbox (built-in runtime)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-shu-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 3, imagePullSeconds: 0.1, imagePull: { hotUpgrade: { timeoutMs: HOT_UPGRADE_TIMEOUT_MS, pollMs: 100 } } },
    });
  });
  /** Watches still open when a test failed before stopping them. */
  const open = new Set<() => Promise<unknown>>();
  afterEach(async () => {
    for (const stop of open) await stop();
    open.clear();
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const listPods = async (app: string): Promise<Pod[]> =>
    (await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${app}` })).items as unknown as Pod[];
  const getSet = (name: string): Promise<SidecarSet> => sandbox.client.get<SidecarSet>(resources.sidecarSets, '', name);
  const editImage = (name: string, image: string): Promise<SidecarSet> => retryOnConflict(async () => {
    const s = await getSet(name);
    s.spec.containers![0]!.image = image;
    return sandbox.client.update<SidecarSet>(resources.sidecarSets, s);
  });
  const waitStatus = (name: string, want: number[], timeoutMs = 30_000): Promise<SidecarSet> => waitFor(async () => {
    const s = await getSet(name);
    return JSON.stringify(statusTuple(s.status)) === JSON.stringify(want) && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
  }, `${name} status [matched, updated, ready, updatedReady] = ${JSON.stringify(want)}`, timeoutMs);
  const waitAllReady = (app: string, n: number): Promise<Pod[]> => waitFor(async () => {
    const pods = await listPods(app);
    return pods.length === n && pods.every(isReady) ? pods : undefined;
  }, `${n} ${app} pods Ready`, 30_000);
  const events = async (pod: string, reason: string): Promise<{ type?: string; message?: string }[]> =>
    ((await sandbox.client.list(resources.events, { namespace: NS })).items as unknown as { reason?: string; type?: string; message?: string; involvedObject?: { name?: string } }[])
      .filter((e) => e.reason === reason && e.involvedObject?.name === pod);
  const succeededSwaps = async (): Promise<number> => {
    const text = await sandbox.imagePull!.agentRegistry.getSingleMetricAsString('kruise_agent_sidecar_hot_upgrades_total');
    return Number(/\{result="succeeded"\} (\d+)/.exec(text)?.[1] ?? '0');
  };
  /** What the runtime of the Pod's node runs for container `name` of the Pod (images of running containers). */
  const runningImages = async (p: Pod, name: string): Promise<string[]> => {
    const out: string[] = [];
    for (const rt of sandbox.nodes!.runtimes) {
      const { containers } = await rt.listContainers({ filter: { labelSelector: { 'io.kubernetes.pod.uid': p.metadata.uid ?? '', 'io.kubernetes.container.name': name } } });
      for (const c of containers ?? []) if (c.state === 'CONTAINER_RUNNING') out.push(c.image?.image ?? '');
    }
    return out;
  };

  /**
   * Follows the Pods of `app` through a watch from now on, calling `check` with every Pod state it delivers and the
   * latest state of all of them; returns the most Pods seen mid-swap at once and what `check` reported.
   */
  async function followPods(app: string, check: (pod: Pod, all: ReadonlyMap<string, Pod>) => string | undefined) {
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${app}` });
    const all = new Map<string, Pod>((list.items as unknown as Pod[]).map((p) => [p.metadata.name!, p]));
    let maxMidSwap = [...all.values()].filter(midSwap).length;
    let seen = 0;
    const problems: string[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of sandbox.client.watch<KubeObject>(resources.pods, {
          namespace: NS, labelSelector: `app=${app}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: ac.signal,
        })) {
          const p = ev.object as unknown as Pod;
          if (ev.type === 'DELETED') all.delete(p.metadata.name!);
          else all.set(p.metadata.name!, p);
          seen++;
          maxMidSwap = Math.max(maxMidSwap, [...all.values()].filter(midSwap).length);
          const problem = check(p, all);
          if (problem !== undefined) problems.push(problem);
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    const stop = async (): Promise<{ maxMidSwap: number; seen: number; problems: string[] }> => {
      open.delete(stop);
      ac.abort();
      await watching;
      return { maxMidSwap, seen, problems };
    };
    open.add(stop);
    return { stop };
  }

  /** The Pod status check of the swap invariant: one of the pair is running a real image. */
  const statusServes = (sidecar: string, emptyImage: string) => (p: Pod): string | undefined => {
    const serving = [`${sidecar}-1`, `${sidecar}-2`].filter((n) => {
      const st = containerStatus(p, n);
      return st?.state?.running !== undefined && st.image !== emptyImage;
    });
    return serving.length > 0 ? undefined
      : `${p.metadata.name} rv ${p.metadata.resourceVersion}: no ${sidecar} container running a real image: ${JSON.stringify(p.status?.containerStatuses)}`;
  };

  /** Every Pod of `app` settled: `work` working on `image`, the other on the empty image, swap Succeeded, no request. */
  const waitSwapped = (app: string, n: number, sidecar: string, work: string, image: string): Promise<Pod[]> => {
    const other = work.endsWith('-1') ? `${sidecar}-2` : `${sidecar}-1`;
    const empty = `${sidecar}-empty:1`;
    return waitFor(async () => {
      const ps = await listPods(app);
      const done = ps.length === n && ps.every((p) => !midSwap(p) && swapStatus(p)?.phase === 'Succeeded'
        && working(p) === JSON.stringify({ [sidecar]: work })
        && specImage(p, work) === image && specImage(p, other) === empty
        && containerStatus(p, work)?.image === image && containerStatus(p, other)?.image === empty && isReady(p));
      return done ? ps : undefined;
    }, `${app} pods working ${work} on ${image}, ${other} empty`, 60_000);
  };

  it('should hot-upgrade 3 pods one at a time (maxUnavailable 1) to X-2 and back, one of the pair always serving', async () => {
    await sandbox.client.create(resources.sidecarSets, hotSet('shop-sidecarset', 'shop', 'proxy', 'proxy:1', ['sleep', '1']));
    for (const n of ['shop-0', 'shop-1', 'shop-2']) await sandbox.client.create(resources.pods, podManifest(n, 'shop'));
    const pods = await waitAllReady('shop', 3);
    for (const p of pods) {
      assert.deepEqual(p.spec.containers.map((c) => [c.name, c.image]), [['proxy-1', 'proxy:1'], ['proxy-2', 'proxy-empty:1'], ['app', 'nginx:1.25']]);
      assert.equal(working(p), '{"proxy":"proxy-1"}');
    }
    await waitStatus('shop-sidecarset', [3, 3, 3, 3]);
    const uids = new Set(pods.map((p) => p.metadata.uid!));
    const recorder = recordContainerTransitions(sandbox.nodes!.runtimes);
    const initial = await runningContainers(sandbox.nodes!.runtimes);
    const follower = await followPods('shop', statusServes('proxy', 'proxy-empty:1'));
    try {
      // proxy:1 → proxy:2: every pod swaps to proxy-2 and resets proxy-1.
      await editImage('shop-sidecarset', 'proxy:2');
      for (const p of await waitSwapped('shop', 3, 'proxy', 'proxy-2', 'proxy:2')) {
        assert.deepEqual(swapStatus(p)?.target, { proxy: 'proxy-2' }, p.metadata.name);
      }
      await waitStatus('shop-sidecarset', [3, 3, 3, 3]);
      // And back: proxy-1 gets proxy:1 and works again, proxy-2 is emptied.
      await editImage('shop-sidecarset', 'proxy:1');
      await waitSwapped('shop', 3, 'proxy', 'proxy-1', 'proxy:1');
      await waitStatus('shop-sidecarset', [3, 3, 3, 3]);
    } finally {
      recorder.stop();
    }
    const { maxMidSwap, seen, problems } = await follower.stop();
    assert.ok(seen > 10, `the watch delivered ${seen} pod states`);
    assert.equal(maxMidSwap, 1, 'exactly one pod mid-swap at any moment (maxUnavailable 1)');
    assert.deepEqual(problems, [], 'at every pod state one of proxy-1/proxy-2 runs a real image');

    // The runtimes' own record: each pod's pair restarted twice per swap (target up, old reset), 2 swaps, and the
    // invariant held at every start and exit.
    const swapStarts = recorder.transitions.filter((t) => t.kind === 'started' && uids.has(t.podUid) && /^proxy-[12]$/.test(t.container));
    assert.equal(swapStarts.length, 3 * 2 * 2, JSON.stringify(swapStarts.map((t) => [t.podUid, t.container, t.image])));
    assert.deepEqual(pairInvariantViolations(initial, recorder.transitions, uids, ['proxy-1', 'proxy-2'], 'proxy-empty:1'), [],
      'at every container start and exit one of proxy-1/proxy-2 ran a real image');
  });

  it('should keep the old container serving when the new image cannot be pulled, hold the second pod, then retarget', async () => {
    const bad = 'registry.invalid/mesh:bad';
    await sandbox.client.create(resources.sidecarSets, hotSet('pay-sidecarset', 'pay', 'mesh', 'mesh:1', ['sleep', '1']));
    for (const n of ['pay-0', 'pay-1']) await sandbox.client.create(resources.pods, podManifest(n, 'pay'));
    await waitAllReady('pay', 2);
    await waitStatus('pay-sidecarset', [2, 2, 2, 2]);
    const follower = await followPods('pay', statusServes('mesh', 'mesh-empty:1'));

    await editImage('pay-sidecarset', bad);
    const failed = await waitFor(async () => (await listPods('pay')).find((p) => swapStatus(p)?.phase === 'Failed'),
      'one pay pod whose swap Failed', HOT_UPGRADE_TIMEOUT_MS + 20_000);
    const name = failed.metadata.name!;
    const st = swapStatus(failed)!;
    assert.match(st.message ?? '', /registry\.invalid\/mesh:bad/, `the failure names the image: ${st.message}`);
    assert.deepEqual(st.target, { mesh: 'mesh-2' });
    // The old container keeps serving: mesh-1 still runs mesh:1, Ready (runtime and Pod status).
    assert.deepEqual(await runningImages(failed, 'mesh-1'), ['mesh:1'], `${name}: mesh-1 keeps running mesh:1`);
    assert.equal(containerStatus(failed, 'mesh-1')?.ready, true, `${name}: mesh-1 Ready`);
    assert.equal(containerStatus(failed, 'mesh-1')?.image, 'mesh:1');
    // As upstream (§7.5 step 2), the working annotation moved to the target with the switch and stays there after
    // the failure: the next image change retargets that not-ready container (rule 2b), and the coordinator's reset
    // pass does not empty it and count the pod as updated while it runs the old image.
    assert.equal(working(failed), '{"mesh":"mesh-2"}', `${name}: the working annotation names the target of the failed swap`);
    const warnings = await waitFor(async () => {
      const es = await events(name, 'SidecarHotUpgradeFailed');
      return es.length > 0 ? es : undefined;
    }, `a SidecarHotUpgradeFailed event on ${name}`);
    assert.equal(warnings[0]!.type, 'Warning');
    assert.match(warnings[0]!.message ?? '', /registry\.invalid\/mesh:bad/);
    // Upstream's e2e "failed image": {matched 2, updated 1, ready 1, updatedReady 0}.
    await waitStatus('pay-sidecarset', [2, 1, 1, 0]);

    // maxUnavailable 1: the failed pod holds the other back, however long it waits.
    await sleep(1500);
    const held = (await listPods('pay')).find((p) => p.metadata.name !== name)!;
    assert.equal(midSwap(held), false, 'the second pod got no swap request');
    assert.equal(swapStatus(held), undefined);
    assert.deepEqual([specImage(held, 'mesh-1'), specImage(held, 'mesh-2'), working(held)], ['mesh:1', 'mesh-empty:1', '{"mesh":"mesh-1"}']);
    assert.deepEqual(statusTuple((await getSet('pay-sidecarset')).status), [2, 1, 1, 0]);

    const failing = await follower.stop();
    assert.equal(failing.maxMidSwap, 1, 'only one pod affected by the failing image');
    assert.deepEqual(failing.problems, [], 'at every pod state one of mesh-1/mesh-2 runs a real image');

    // A good image: the failed pod is retargeted at its not-ready container (§7.5 rule 2b). It is not ready, so it
    // does not consume maxUnavailable (§7.3 step 8: a not-ready candidate is always taken): the other pod may swap
    // at the same time, as upstream.
    const retarget = await followPods('pay', statusServes('mesh', 'mesh-empty:1'));
    await editImage('pay-sidecarset', 'mesh:3');
    for (const p of await waitSwapped('pay', 2, 'mesh', 'mesh-2', 'mesh:3')) {
      assert.deepEqual(swapStatus(p)?.target, { mesh: 'mesh-2' }, p.metadata.name);
    }
    await waitStatus('pay-sidecarset', [2, 2, 2, 2]);
    const { maxMidSwap, problems } = await retarget.stop();
    assert.ok(maxMidSwap <= 2, `${maxMidSwap} pods mid-swap`);
    assert.deepEqual(problems, [], 'at every pod state one of mesh-1/mesh-2 runs a real image');
  });

  it('should finish a swap exactly once when the agent is stopped and restarted mid-swap', async () => {
    // postStart takes 2 s and containers 1 s to stop: both waiting phases last long enough to stop the agent in.
    await sandbox.client.create(resources.sidecarSets, hotSet('cart-sidecarset', 'cart', 'envoy', 'envoy:1', ['sleep', '2']));
    await sandbox.client.create(resources.pods, podManifest('cart-0', 'cart', { [STOP_DELAY_ANNOTATION]: '1000' }));
    const [pod] = await waitAllReady('cart', 1);
    await waitStatus('cart-sidecarset', [1, 1, 1, 1]);
    const node = pod!.spec.nodeName!;
    const restarts = (p: Pod): number[] => ['envoy-1', 'envoy-2'].map((n) => containerStatus(p, n)?.restartCount ?? -1);
    const restartsBefore = restarts(pod!);
    const succeededBefore = await succeededSwaps();
    const workingSeen: string[] = [];
    const follower = await followPods('cart', (p) => {
      const w = working(p) ?? '';
      if (workingSeen.at(-1) !== w) workingSeen.push(w);
      return statusServes('envoy', 'envoy-empty:1')(p);
    });
    const phaseIs = (phase: string) => async (): Promise<Pod | undefined> => {
      const [p] = await listPods('cart');
      return p !== undefined && swapStatus(p)?.phase === phase ? p : undefined;
    };

    await editImage('cart-sidecarset', 'envoy:2');
    // Stopped between the switch and the target running Ready.
    const switched = await waitFor(phaseIs('WaitingTarget'), 'the swap waiting for its target', 20_000);
    await sandbox.imagePull!.stopAgent(node);
    const s1 = swapStatus(switched)!;
    assert.deepEqual(s1.target, { envoy: 'envoy-2' });
    // The kubelet goes on: the target runs Ready; the stopped agent records nothing.
    const targetUp = await waitFor(async () => {
      const [p] = await listPods('cart');
      const st = p && containerStatus(p, 'envoy-2');
      return st?.image === 'envoy:2' && st.started === true && st.ready ? p : undefined;
    }, 'envoy-2 running envoy:2 Ready', 20_000);
    assert.equal(swapStatus(targetUp)?.phase, 'WaitingTarget', 'no progress while the agent is stopped');
    await sandbox.imagePull!.startAgent(node);

    // Stopped again between the reset and the old container running the empty image.
    const reset = await waitFor(phaseIs('WaitingReset'), 'the swap waiting for its reset', 20_000);
    await sandbox.imagePull!.stopAgent(node);
    const s2 = swapStatus(reset)!;
    const emptied = await waitFor(async () => {
      const [p] = await listPods('cart');
      const st = p && containerStatus(p, 'envoy-1');
      return st?.image === 'envoy-empty:1' && st.started === true && st.state?.running !== undefined ? p : undefined;
    }, 'envoy-1 running the empty image', 20_000);
    assert.equal(swapStatus(emptied)?.phase, 'WaitingReset', 'no progress while the agent is stopped');
    await sandbox.imagePull!.startAgent(node);

    const [done] = await waitSwapped('cart', 1, 'envoy', 'envoy-2', 'envoy:2');
    await waitStatus('cart-sidecarset', [1, 1, 1, 1]);
    const { problems } = await follower.stop();
    const s3 = swapStatus(done!)!;
    // Exactly once: the same swap (start, switch, reset times), one switch of the working container, each of the
    // pair restarted once, one success event and one success in the metrics.
    assert.deepEqual([s3.startedAt, s3.switchedAt, s3.resetAt], [s1.startedAt, s1.switchedAt, s2.resetAt]);
    assert.deepEqual(workingSeen, ['{"envoy":"envoy-1"}', '{"envoy":"envoy-2"}'], 'the working container switched once');
    assert.deepEqual(restarts(done!), restartsBefore.map((n) => n + 1), 'envoy-1 and envoy-2 each restarted once');
    assert.equal((await events('cart-0', 'SidecarHotUpgraded')).length, 1);
    assert.equal((await events('cart-0', 'ResetContainerSucceed')).length, 1);
    assert.equal(await succeededSwaps(), succeededBefore + 1);
    assert.deepEqual(problems, [], 'at every pod state one of envoy-1/envoy-2 runs a real image');
    assert.equal(sandbox.imagePull!.agent(node)?.running, true);
  });
});

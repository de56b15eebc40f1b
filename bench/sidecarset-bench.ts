/**
 * SidecarSet hot-upgrade benchmark: `pods` bare pods on `nodes` emulated nodes (built-in runtime) match a HotUpgrade
 * SidecarSet whose sidecar has a postStart `sleep <postStartSeconds>`; one image change rolls it out with
 * maxUnavailable 20%. Per pod, the agent's status annotation (`kruise-ts.io/sidecarset-hot-upgrade-status`) gives
 * the swap's phases; the CRI ContainerStatus of the new working container (ns timestamps, the pod status only has
 * seconds) splits "switch → target running Ready" into restart-to-running and postStart.
 *
 *   pre-pull           startedAt → switchedAt (pull of the new and the empty image, then the switch write)
 *   restart to running switchedAt → the target container's CRI startedAt
 *   postStart          CRI startedAt → targetRunningAt (hook, Ready in the pod status, the agent seeing it)
 *   reset              targetRunningAt → finishedAt (empty image into the old container: its restart and postStart)
 *   overhead           durationMs − restart to running − postStart sleep − reset (the old container's restart
 *                      and its hook): what the agent adds beyond restarts and hooks (pre-pull included)
 *
 * Total: image change → every pod Succeeded and the set's status updated = ready = pods; ideal = rounds × median
 * swap duration, rounds = ceil(pods / maxUnavailable).
 *
 * The sandbox runs in a child (this file, forked). Child protocol (request/reply over IPC):
 *   parent → { type: 'start', nodes, imagePullSeconds } child → { type: 'ready', url, token, caCertPem }
 *   parent → { type: 'containers' }                   child → { type: 'containers', started: { '<podUid>/<name>': startedAtMs } }
 *   parent → { type: 'stop' }                         child → { type: 'stopped' } and exits
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { ask, exited, forkHelper } from './child-ipc.js';
import { BenchClient, type Target } from './http-client.js';
import { round, summarise, type Summary } from './stats.js';

export interface SidecarSetBenchOptions {
  /** @default 20 */
  nodes: number;
  /** @default 200 */
  pods: number;
  /** Percent of pods unavailable at once. @default 20 */
  maxUnavailablePercent: number;
  /** The sidecar's postStart `sleep`. @default 1 */
  postStartSeconds: number;
  /** Built-in runtime pull time. @default 0.1 (tenths only: the CLI flag is an integer) */
  imagePullTenths: number;
  /** Creates in flight. @default 8 */
  concurrency: number;
  /** @default 300 */
  timeoutSeconds: number;
}

export const DEFAULT_OPTIONS: Readonly<SidecarSetBenchOptions> = Object.freeze({
  nodes: 20, pods: 200, maxUnavailablePercent: 20, postStartSeconds: 1, imagePullTenths: 1, concurrency: 8, timeoutSeconds: 300,
});

export const TARGETS = Object.freeze({ overheadMsPerSwap: 200, totalOverIdeal: 1.3 });

export interface SidecarSetBenchResult {
  options: SidecarSetBenchOptions;
  podsReadySeconds: number;
  swaps: {
    succeeded: number; failed: number;
    durationMs: Summary; prePullMs: Summary; restartToRunningMs: Summary; postStartMs: Summary; resetMs: Summary;
    /** durationMs − restart to running − postStart sleep − reset. */
    overheadMs: Summary;
  };
  rollout: { rounds: number; maxUnavailable: number; totalSeconds: number; idealSeconds: number; totalOverIdeal: number };
  checks: { metric: string; target: string; value: number; pass: boolean }[];
}

type Log = (line: string) => void;

interface PodLite {
  metadata: { name: string; uid?: string; annotations?: Record<string, string> };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface SwapStatusLite {
  phase: string; resourceVersion: string; startedAt: string; switchedAt?: string; targetRunningAt?: string;
  resetAt?: string; finishedAt?: string; durationMs?: number; target?: Record<string, string>;
}

const STATUS_ANNOTATION = 'kruise-ts.io/sidecarset-hot-upgrade-status';
const SET_PATH = '/apis/apps.kruise.io/v1alpha1/sidecarsets';

const isReady = (p: PodLite): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function json<T>(client: BenchClient, method: string, path: string, body?: string, contentType?: string): Promise<T> {
  const r = await client.request(method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return JSON.parse(r.body.toString('utf8')) as T;
}

async function pollUntil<T>(what: string, timeoutMs: number, intervalMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export async function runSidecarSetBench(o: SidecarSetBenchOptions, log: Log): Promise<SidecarSetBenchResult> {
  const child = forkHelper(new URL(import.meta.url));
  try {
    const started = await ask<{ type: 'ready'; url: string; token: string; caCertPem: string }>(
      child, { type: 'start', nodes: o.nodes, imagePullSeconds: o.imagePullTenths / 10 }, 'sidecarset child');
    const target: Target = { url: started.url, token: started.token, caCertPem: started.caCertPem };
    const client = new BenchClient(target, o.concurrency);
    const listPods = async (): Promise<PodLite[]> =>
      (await json<{ items: PodLite[] }>(client, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dssb')).items;
    const getSet = (): Promise<{ metadata: { resourceVersion: string; generation?: number }; status?: Record<string, number> }> =>
      json(client, 'GET', `${SET_PATH}/proxy-sidecarset`);
    const setSettled = async (): Promise<boolean> => {
      const s = await getSet();
      const st = s.status ?? {};
      return st['observedGeneration'] === s.metadata.generation && st['matchedPods'] === o.pods && st['updatedPods'] === o.pods && st['readyPods'] === o.pods;
    };
    const timeoutMs = o.timeoutSeconds * 1000;
    try {
      await json(client, 'POST', SET_PATH, JSON.stringify({
        apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'proxy-sidecarset' },
        spec: {
          selector: { matchLabels: { app: 'ssb' } },
          containers: [{
            name: 'proxy', image: 'proxy:1',
            lifecycle: { postStart: { exec: { command: ['sleep', String(o.postStartSeconds)] } } },
            upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'proxy-empty:1' },
          }],
          updateStrategy: { maxUnavailable: `${o.maxUnavailablePercent}%` },
        },
      }));
      const t0 = Date.now();
      const limit = pLimit(o.concurrency);
      await Promise.all(Array.from({ length: o.pods }, (_, i) => limit(() => json(client, 'POST', '/api/v1/namespaces/default/pods', JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `ssb-${i}`, namespace: 'default', labels: { app: 'ssb' } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], terminationGracePeriodSeconds: 1 },
      })))));
      await pollUntil(`${o.pods} pods Ready`, timeoutMs, 500, async () => {
        const ps = await listPods();
        return ps.length === o.pods && ps.every(isReady) ? true : undefined;
      });
      await pollUntil('set status settled', timeoutMs, 250, async () => ((await setSettled()) ? true : undefined));
      const podsReadySeconds = round((Date.now() - t0) / 1000, 2);
      log(`${o.pods} pods on ${o.nodes} nodes Ready with the sidecar pair in ${podsReadySeconds} s; changing the image`);

      const tChange = Date.now();
      const patched = await json<{ metadata: { resourceVersion: string } }>(client, 'PATCH', `${SET_PATH}/proxy-sidecarset`,
        JSON.stringify([{ op: 'replace', path: '/spec/containers/0/image', value: 'proxy:2' }]), 'application/json-patch+json');
      const rv = patched.metadata.resourceVersion;
      const statusOf = (p: PodLite): SwapStatusLite | undefined => {
        const raw = p.metadata.annotations?.[STATUS_ANNOTATION];
        if (raw === undefined) return undefined;
        const s = JSON.parse(raw) as SwapStatusLite;
        // The request carries the SidecarSet's resourceVersion when the pod was chosen; the controller's status
        // writes move it on between rounds, so later rounds carry newer versions than the image change's.
        return /^\d+$/.test(s.resourceVersion) && BigInt(s.resourceVersion) >= BigInt(rv) ? s : undefined;
      };
      let lastLog = Date.now();
      // Each poll lists every pod from the sandbox under test: polled often, that list is a tenth of its CPU and slows
      // the swaps measured. Per-swap phases come from the agent's timestamps; only the total is this coarse.
      const pods = await pollUntil('every swap finished', timeoutMs, 500, async () => {
        const ps = await listPods();
        const done = ps.filter((p) => ['Succeeded', 'Failed'].includes(statusOf(p)?.phase ?? ''));
        if (Date.now() - lastLog > 5000) { lastLog = Date.now(); log(`  ${done.length} / ${o.pods} swaps finished after ${round((Date.now() - tChange) / 1000, 1)} s`); }
        return done.length === o.pods && ps.every(isReady) && (await setSettled()) ? ps : undefined;
      });
      const totalSeconds = round((Date.now() - tChange) / 1000, 2);

      const { started: startedAt } = await ask<{ type: 'containers'; started: Record<string, number> }>(child, { type: 'containers' }, 'sidecarset child');
      const t = (s: string | undefined): number => (s === undefined ? NaN : Date.parse(s));
      const durations: number[] = []; const prePull: number[] = []; const restart: number[] = []; const postStart: number[] = [];
      const reset: number[] = []; const overhead: number[] = [];
      let succeeded = 0; let failed = 0;
      for (const p of pods) {
        const s = statusOf(p)!;
        if (s.phase !== 'Succeeded') { failed++; continue; }
        succeeded++;
        const targetName = s.target?.['proxy'] ?? '';
        const runAt = startedAt[`${p.metadata.uid ?? ''}/${targetName}`] ?? NaN;
        const sw = t(s.switchedAt); const tr = t(s.targetRunningAt); const fin = t(s.finishedAt);
        durations.push(s.durationMs ?? fin - t(s.startedAt));
        prePull.push(sw - t(s.startedAt));
        restart.push(runAt - sw);
        postStart.push(tr - runAt);
        reset.push(fin - tr);
        // The reset restarts the old container, whose postStart (the same hook) also runs: both hooks are inherent.
        overhead.push((s.durationMs ?? 0) - (runAt - sw) - (fin - tr) - o.postStartSeconds * 1000);
      }
      const maxUnavailable = Math.max(1, Math.floor((o.pods * o.maxUnavailablePercent) / 100));
      const rounds = Math.ceil(o.pods / maxUnavailable);
      const durationMs = summarise(durations);
      const idealSeconds = round((rounds * durationMs.p50) / 1000, 2);
      const totalOverIdeal = round(totalSeconds / idealSeconds, 2);
      const overheadMs = summarise(overhead);
      log(`rollout: ${succeeded} succeeded, ${failed} failed in ${totalSeconds} s; ideal ${rounds} rounds × ${durationMs.p50} ms = ${idealSeconds} s (${totalOverIdeal}×); overhead p50 ${overheadMs.p50} ms`);
      client.close();
      await ask(child, { type: 'stop' }, 'sidecarset child');
      await exited(child);
      return {
        options: o, podsReadySeconds,
        swaps: {
          succeeded, failed, durationMs, prePullMs: summarise(prePull), restartToRunningMs: summarise(restart),
          postStartMs: summarise(postStart), resetMs: summarise(reset), overheadMs,
        },
        rollout: { rounds, maxUnavailable, totalSeconds, idealSeconds, totalOverIdeal },
        checks: [
          { metric: 'overhead per swap p50 (ms)', target: `<= ${TARGETS.overheadMsPerSwap}`, value: overheadMs.p50, pass: overheadMs.p50 <= TARGETS.overheadMsPerSwap },
          { metric: 'overhead per swap p99 (ms)', target: `<= ${TARGETS.overheadMsPerSwap}`, value: overheadMs.p99, pass: overheadMs.p99 <= TARGETS.overheadMsPerSwap },
          { metric: 'rollout total ÷ (rounds × p50 swap)', target: `<= ${TARGETS.totalOverIdeal}`, value: totalOverIdeal, pass: totalOverIdeal <= TARGETS.totalOverIdeal && failed === 0 },
        ],
      };
    } finally {
      client.close();
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export function sidecarSetSummary(r: SidecarSetBenchResult): string {
  const s = r.swaps;
  const row = (name: string, x: Summary): string => `| ${name} | ${x.p50} | ${x.p99} |`;
  return [
    `${r.options.pods} pods on ${r.options.nodes} nodes, maxUnavailable ${r.options.maxUnavailablePercent}%, postStart sleep ${r.options.postStartSeconds} s, pull ${r.options.imagePullTenths / 10} s; pods Ready with the pair after ${r.podsReadySeconds} s`,
    '', '| swap phase (ms) | p50 | p99 |', '|---|---:|---:|',
    row('pre-pull (startedAt → switchedAt)', s.prePullMs),
    row('restart to running (switchedAt → CRI startedAt)', s.restartToRunningMs),
    row('postStart + Ready seen (→ targetRunningAt)', s.postStartMs),
    row('reset (targetRunningAt → finishedAt)', s.resetMs),
    row('whole swap (durationMs)', s.durationMs),
    row('overhead beyond restarts + postStart', s.overheadMs),
    '', '| rollout | value |', '|---|---:|',
    `| swaps succeeded / failed | ${s.succeeded} / ${s.failed} |`,
    `| rounds (ceil(pods / ${r.rollout.maxUnavailable})) | ${r.rollout.rounds} |`,
    `| image change → all swapped and set status settled (s) | ${r.rollout.totalSeconds} |`,
    `| ideal: rounds × p50 swap (s) | ${r.rollout.idealSeconds} |`,
    `| total ÷ ideal | ${r.rollout.totalOverIdeal} |`,
    '', '| target | value | pass |', '|---|---:|:---:|',
    ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`),
  ].join('\n');
}

// ---------------------------------------------------------------- child side

async function childMain(): Promise<void> {
  const [{ pino }, { startSandbox }, { sandboxFeatureGates }] = await Promise.all([
    import('pino'), import('../src/sandbox/sandbox.js'), import('../src/api/feature-gates.js'),
  ]);
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  let dir: string | undefined;
  const reply = (m: object): void => { process.send!(m); };
  process.on('message', (m: { type: string; nodes?: number; imagePullSeconds?: number }) => {
    void (async () => {
      try {
        if (m.type === 'start') {
          dir = await mkdtemp(join(tmpdir(), 'kts-ssb-bench-'));
          sandbox = await startSandbox({
            port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''),
            logger: pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2)),
            nodes: { count: m.nodes ?? 20, imagePullSeconds: m.imagePullSeconds ?? 0.1 },
          });
          reply({ type: 'ready', url: sandbox.url, token: sandbox.token, caCertPem: sandbox.caCertPem });
        } else if (m.type === 'containers') {
          // The running proxy containers' start times (ns in the CRI), by pod uid and container name.
          const started: Record<string, number> = {};
          for (const rt of sandbox?.nodes?.runtimes ?? []) {
            for (const c of (await rt.listContainers({})).containers ?? []) {
              const name = c.labels?.['io.kubernetes.container.name'] ?? '';
              if (c.state !== 'CONTAINER_RUNNING' || !/^proxy-[12]$/.test(name)) continue;
              const st = (await rt.containerStatus({ containerId: c.id ?? '' })).status;
              started[`${c.labels?.['io.kubernetes.pod.uid'] ?? ''}/${name}`] = Number(BigInt(st?.startedAt ?? '0') / 1_000_000n);
            }
          }
          reply({ type: 'containers', started });
        } else if (m.type === 'stop') {
          await sandbox?.close();
          if (dir) await rm(dir, { recursive: true, force: true });
          reply({ type: 'stopped' });
          process.exit(0);
        }
      } catch (e) {
        reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
      }
    })();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain();

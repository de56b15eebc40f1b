/**
 * Part 1 of the ImagePullJob benchmark: a sandbox with `nodes` emulated nodes (built-in runtimes, the coordinator's
 * ImagePullJob/NodeImage controllers and one image-puller agent per node, all in the sandbox child), one
 * ImagePullJob over every node with `parallelism` and `completionPolicy: Always`, created through the API. Measured
 * from the create request to the watch event that shows `status.completionTime` with every node succeeded; the
 * ideal is ceil(nodes / parallelism) rounds of one pull each, efficiency = ideal / actual.
 *
 * Time model of a pull: the built-in runtime waits `pullLatencyMs` = imagePullSeconds × 1000, then moves the image
 * at 100 MiB/s. The image is the tag of `registry.bench.test/warmup` (of the first 200) with the smallest modelled
 * size (`defaultImageSizeBytes`, about 2 MiB, ~20 ms), so a pull takes 2.02 s; the ideal uses the nominal 2 s.
 *
 * Where the time goes, per node, on one clock (CLOCK_MONOTONIC, shared by the processes):
 *   spec   the NodeImage shows the job's tag (watch arrival at the benchmark) — the job controller filled a slot;
 *   start  the node's runtime got PullImage (timed inside the sandbox child by wrapping `pullImage`);
 *   end    the runtime answered;
 *   done   the NodeImage status shows the tag Succeeded (watch arrival) — the agent wrote its status back.
 * The k-th node to be done frees the slot the (parallelism + k)-th spec write fills, so
 * refill = spec[P + k] − done[k]; one slot's cycle is (spec→start) + (start→end) + (end→done) + refill.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ask, exited, forkHelper } from './child-ipc.js';
import type { PullRecord } from './imagepull-child.js';
import { BenchClient, openWatch, type Target, type WatchStream } from './http-client.js';
import { monotonicMs } from './monotonic-clock.js';
import { round, summarise, type Summary } from './stats.js';
import { defaultImageSizeBytes } from '../src/sandbox/cri/index.js';

export interface JobPhaseOptions {
  /** Emulated nodes. @default 500 */
  nodes: number;
  /** @default 25 */
  parallelism: number;
  /** Built-in runtime's fixed pull time. @default 2 */
  imagePullSeconds: number;
  /** How long to wait for the NodeImages (one per Node, made by the NodeImage controller). @default 20 */
  probeSeconds: number;
  /** Give up on the job after this long. @default 150 */
  timeoutSeconds: number;
}

export const JOB_PHASE_DEFAULTS: Readonly<JobPhaseOptions> = Object.freeze({
  nodes: 500, parallelism: 25, imagePullSeconds: 2, probeSeconds: 20, timeoutSeconds: 150,
});

const MIB = 2 ** 20;
const IMAGE_REPO = 'registry.bench.test/warmup';
const JOB_NAME = 'bench-warmup';

interface ChildStats { type: 'stats'; cpuUserUs: number; cpuSystemUs: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number }

export type JobPhaseResult =
  | { available: false; reason: string; options: JobPhaseOptions; startup?: { seconds: number; transport: string } }
  | JobPhaseMeasured;

export interface JobPhaseMeasured {
  available: true;
  options: JobPhaseOptions;
  image: string;
  imageSizeBytes: number;
  startup: { seconds: number; transport: string; rssBytes: number; nodeImagesSeconds: number };
  /** ceil(nodes / parallelism) × imagePullSeconds. */
  idealSeconds: number;
  /** Create request → watch event with completionTime and every node succeeded. */
  actualSeconds: number | null;
  /** idealSeconds / actualSeconds. */
  efficiency: number | null;
  job: { succeeded: number; failed: number; desired: number; completionTime: string | null; message: string | null };
  /** Most PullImage calls in progress at once over all runtimes, and most nodes the job counted pulling at once. */
  maxConcurrentPulls: number;
  maxNodesPullingSeen: number;
  pullCalls: number;
  failedPullCalls: number;
  /** Per node, ms; see the module comment. */
  steps: {
    createToFirstSpecMs: number | null;
    specToPullStartMs: Summary;
    pullMs: Summary;
    pullEndToDoneMs: Summary;
    refillMs: Summary;
    lastDoneToCompletionMs: number | null;
    /** Mean cycle of one slot (sum of the four means) and the run it predicts: first spec + rounds × cycle + tail. */
    slotCycleMs: number;
    predictedSeconds: number;
  };
  /** Fraction of the run each step takes, from the mean cycle (what to fix first). */
  shareOfCycle: Record<string, number>;
  sandbox: { cpuSeconds: number; coresUsed: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number };
  /** Monotonic µs window of the job (to slice a --cpu-prof profile of the sandbox child). */
  windowUs: [number, number];
}

type Log = (line: string) => void;

interface TagStatus { tag: string; phase: string }
interface NodeImageObj {
  metadata?: { name?: string };
  spec?: { images?: Record<string, { tags?: { tag: string }[] }> };
  status?: { imageStatuses?: Record<string, { tags?: TagStatus[] }> };
}
interface JobObj { metadata?: { name?: string }; status?: { completionTime?: string; succeeded?: number; failed?: number; desired?: number; active?: number; message?: string } }

/** The tag of IMAGE_REPO, of the first 200, with the smallest modelled size. */
export function smallestImage(): { tag: string; sizeBytes: number } {
  let best = { tag: 'v1', sizeBytes: Infinity };
  for (let i = 1; i <= 200; i++) {
    const size = defaultImageSizeBytes(`${IMAGE_REPO}:v${i}`);
    if (size < best.sizeBytes) best = { tag: `v${i}`, sizeBytes: size };
  }
  return best;
}

function jobBody(image: string, parallelism: number): string {
  return JSON.stringify({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob',
    metadata: { name: JOB_NAME, namespace: 'default' },
    spec: { image, parallelism, completionPolicy: { type: 'Always' }, pullPolicy: { timeoutSeconds: 600, backoffLimit: 3 } },
  });
}

/** Most intervals open at once. */
function maxOverlap(intervals: { startMs: number; endMs: number }[]): number {
  const edges: [number, number][] = [];
  for (const i of intervals) { edges.push([i.startMs, 1]); edges.push([i.endMs, -1]); }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an end before a start at the same instant
  let open = 0;
  let max = 0;
  for (const [, d] of edges) { open += d; max = Math.max(max, open); }
  return max;
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

async function countNodeImages(client: BenchClient): Promise<number> {
  const r = await client.request('GET', '/apis/apps.kruise.io/v1alpha1/nodeimages');
  if (r.status !== 200) return 0;
  return (JSON.parse(r.body.toString()) as { items: unknown[] }).items.length;
}

export async function runJobPhase(o: JobPhaseOptions, log: Log): Promise<JobPhaseResult> {
  const { tag, sizeBytes } = smallestImage();
  const image = `${IMAGE_REPO}:${tag}`;
  const child = forkHelper(new URL('./imagepull-child.js', import.meta.url));
  let client: BenchClient | undefined;
  const watches: WatchStream[] = [];
  try {
    const ready = await ask<{ type: 'ready'; url: string; token: string; caCertPem: string; startSeconds: number; transport: string; runtimes: number }>(
      child, { type: 'start', nodes: o.nodes, imagePullSeconds: o.imagePullSeconds }, 'imagepull child');
    const startStats = await ask<ChildStats>(child, { type: 'stats' }, 'imagepull child');
    log(`sandbox with ${o.nodes} Ready nodes (${ready.transport}) in ${ready.startSeconds} s, RSS ${(startStats.rssBytes / MIB).toFixed(0)} MiB`);
    const target: Target = { url: ready.url, token: ready.token, caCertPem: ready.caCertPem };
    client = new BenchClient(target, 4);

    // Is the ImagePullJob machinery wired into the sandbox? The NodeImage controller makes one NodeImage per Node.
    const probeStart = performance.now();
    let nodeImages = 0;
    while (performance.now() - probeStart < o.probeSeconds * 1000) {
      nodeImages = await countNodeImages(client);
      if (nodeImages >= o.nodes) break;
      await sleep(250);
    }
    const nodeImagesSeconds = round((performance.now() - probeStart) / 1000, 2);
    if (nodeImages < o.nodes) {
      const reason = `not available: ${nodeImages} of ${o.nodes} NodeImages after ${o.probeSeconds} s — the sandbox does not run the ImagePullJob/NodeImage controllers and per-node agents yet`;
      log(`part 1 ${reason}`);
      return { available: false, reason, options: o, startup: { seconds: ready.startSeconds, transport: ready.transport } };
    }
    log(`${nodeImages} NodeImages present ${nodeImagesSeconds} s after the nodes were Ready`);
    await ask(child, { type: 'instrumentPulls' }, 'imagepull child');

    // Per node (by NodeImage name): when its spec first showed the tag, when its status first showed Succeeded.
    const imageName = IMAGE_REPO;
    const imageTag = tag;
    const specAt = new Map<string, number>();
    const doneAt = new Map<string, number>();
    let pullingNow = 0;
    let maxNodesPullingSeen = 0;
    const offset = monotonicMs() - performance.now();
    watches.push(openWatch(target, '/apis/apps.kruise.io/v1alpha1/nodeimages?watch=true', (ev, at) => {
      const ni = ev.object as NodeImageObj;
      const name = ni.metadata?.name ?? '';
      const mono = at + offset;
      if (!specAt.has(name) && (ni.spec?.images?.[imageName]?.tags ?? []).some((t) => t.tag === imageTag)) {
        specAt.set(name, mono);
        pullingNow++;
        maxNodesPullingSeen = Math.max(maxNodesPullingSeen, pullingNow);
      }
      if (!doneAt.has(name) && (ni.status?.imageStatuses?.[imageName]?.tags ?? []).some((t) => t.tag === imageTag && (t.phase === 'Succeeded' || t.phase === 'Failed'))) {
        doneAt.set(name, mono);
        if (specAt.has(name)) pullingNow--;
      }
    }, (e) => log(`NodeImage watch failed: ${e.message}`)));
    let completion: { at: number; job: JobObj } | undefined;
    let lastJob: JobObj | undefined;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    watches.push(openWatch(target, `/apis/apps.kruise.io/v1alpha1/namespaces/default/imagepulljobs?watch=true&fieldSelector=metadata.name%3D${JOB_NAME}`, (ev, at) => {
      const job = ev.object as JobObj;
      lastJob = job;
      if (completion === undefined && job.status?.completionTime) {
        completion = { at: at + offset, job };
        resolveDone();
      }
    }, (e) => log(`ImagePullJob watch failed: ${e.message}`)));
    await Promise.all(watches.map((w) => w.ready));

    const before = await ask<ChildStats>(child, { type: 'stats' }, 'imagepull child');
    const createdAt = monotonicMs();
    const created = await client.request('POST', '/apis/apps.kruise.io/v1alpha1/namespaces/default/imagepulljobs', jobBody(image, o.parallelism));
    if (created.status !== 201) throw new Error(`creating ImagePullJob: HTTP ${created.status} ${created.body.toString().slice(0, 500)}`);
    log(`ImagePullJob ${JOB_NAME} (${image}, ${(sizeBytes / MIB).toFixed(2)} MiB, parallelism ${o.parallelism}) created; waiting for completionTime`);
    const progress = setInterval(() => log(`  ${doneAt.size} / ${o.nodes} nodes done, ${pullingNow} pulling, after ${round((monotonicMs() - createdAt) / 1000, 1)} s`), 5000);
    const outcome = await Promise.race([done.then(() => 'ok' as const), sleep(o.timeoutSeconds * 1000, 'timeout' as const, { ref: false })]);
    clearInterval(progress);
    const endedAt = monotonicMs();
    const after = await ask<ChildStats>(child, { type: 'stats' }, 'imagepull child');
    const { records } = await ask<{ type: 'pulls'; records: PullRecord[] }>(child, { type: 'pulls' }, 'imagepull child');

    const ideal = Math.ceil(o.nodes / o.parallelism) * o.imagePullSeconds;
    const finalJob = completion?.job ?? lastJob;
    const allSucceeded = outcome === 'ok' && finalJob?.status?.succeeded === o.nodes;
    const actualSeconds = outcome === 'ok' ? round((completion!.at - createdAt) / 1000, 2) : null;

    // Steps per node: NodeImage name = node name = kruise-ts-node-<i>.
    const pullByNode = new Map<string, PullRecord>();
    for (const r of records) if (r.image.includes(IMAGE_REPO)) pullByNode.set(`kruise-ts-node-${r.node}`, r);
    const specToStart: number[] = [];
    const pullMs: number[] = [];
    const endToDone: number[] = [];
    for (const [node, rec] of pullByNode) {
      const s = specAt.get(node);
      const d = doneAt.get(node);
      if (s !== undefined) specToStart.push(rec.startMs - s);
      pullMs.push(rec.endMs - rec.startMs);
      if (d !== undefined) endToDone.push(d - rec.endMs);
    }
    const specs = [...specAt.values()].sort((a, b) => a - b);
    const dones = [...doneAt.values()].sort((a, b) => a - b);
    const refill: number[] = [];
    for (let k = 0; k + o.parallelism < specs.length && k < dones.length; k++) refill.push(specs[k + o.parallelism]! - dones[k]!);
    const firstSpec = specs[0];
    const lastDone = dones[dones.length - 1];
    const cycleParts = { 'spec → pull start (agent informer + plan)': mean(specToStart), 'pull (runtime)': mean(pullMs), 'pull end → status Succeeded (agent write-back)': mean(endToDone), 'status Succeeded → next spec (job controller refill)': mean(refill) };
    const slotCycleMs = Object.values(cycleParts).reduce((a, b) => a + b, 0);
    const rounds = Math.ceil(o.nodes / o.parallelism);
    const createToFirstSpecMs = firstSpec === undefined ? null : round(firstSpec - createdAt, 1);
    const lastDoneToCompletionMs = lastDone !== undefined && completion ? round(completion.at - lastDone, 1) : null;
    // The last round has no refill after it.
    const predictedSeconds = round(((createToFirstSpecMs ?? 0) + rounds * slotCycleMs - mean(refill) + (lastDoneToCompletionMs ?? 0)) / 1000, 2);
    const cpuSeconds = round((after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6, 2);

    const result: JobPhaseMeasured = {
      available: true,
      options: o,
      image,
      imageSizeBytes: sizeBytes,
      startup: { seconds: ready.startSeconds, transport: ready.transport, rssBytes: startStats.rssBytes, nodeImagesSeconds },
      idealSeconds: ideal,
      actualSeconds,
      efficiency: actualSeconds !== null && allSucceeded ? round(ideal / actualSeconds, 3) : null,
      job: {
        succeeded: finalJob?.status?.succeeded ?? 0, failed: finalJob?.status?.failed ?? 0, desired: finalJob?.status?.desired ?? 0,
        completionTime: finalJob?.status?.completionTime ?? null, message: finalJob?.status?.message ?? null,
      },
      maxConcurrentPulls: maxOverlap(records),
      maxNodesPullingSeen,
      pullCalls: records.length,
      failedPullCalls: records.filter((r) => !r.ok).length,
      steps: {
        createToFirstSpecMs,
        specToPullStartMs: summarise(specToStart),
        pullMs: summarise(pullMs),
        pullEndToDoneMs: summarise(endToDone),
        refillMs: summarise(refill),
        lastDoneToCompletionMs,
        slotCycleMs: round(slotCycleMs, 1),
        predictedSeconds,
      },
      shareOfCycle: Object.fromEntries(Object.entries(cycleParts).map(([k, v]) => [k, round(v / slotCycleMs, 3)])),
      sandbox: {
        cpuSeconds, coresUsed: round(cpuSeconds / ((endedAt - createdAt) / 1000), 2),
        rssBytes: after.rssBytes, peakRssBytes: after.peakRssBytes, heapUsedBytes: after.heapUsedBytes,
      },
      windowUs: [Math.round(createdAt * 1000), Math.round(endedAt * 1000)],
    };
    log(`job ${outcome === 'ok' ? 'completed' : 'TIMED OUT'} after ${actualSeconds ?? '–'} s (ideal ${ideal} s, efficiency ${result.efficiency ?? '–'}); succeeded ${result.job.succeeded}/${o.nodes}; max ${result.maxConcurrentPulls} pulls at once (${result.maxNodesPullingSeen} nodes seen pulling); sandbox CPU ${cpuSeconds} s, RSS ${(after.rssBytes / MIB).toFixed(0)} MiB`);
    log(`  per slot cycle ${round(slotCycleMs, 0)} ms: ${Object.entries(cycleParts).map(([k, v]) => `${k} ${round(v, 0)} ms`).join('; ')}; first spec ${createToFirstSpecMs} ms after create, completion ${lastDoneToCompletionMs} ms after the last node`);
    log(`  monotonic µs window of the job ${result.windowUs[0]}-${result.windowUs[1]} (for cpu-profile-top)`);
    return result;
  } finally {
    for (const w of watches) w.close();
    client?.close();
    if (child.exitCode === null) {
      await ask(child, { type: 'stop' }, 'imagepull child').catch(() => child.kill('SIGKILL'));
      await exited(child);
    }
  }
}

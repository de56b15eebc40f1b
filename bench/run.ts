/**
 * Benchmark entry (`npm run bench`): runs every benchmark, or the ones named on the command line.
 *
 *   node dist/bench/run.js [apiserver] [informer] [--seed=N] [--pods=N] [--nodes=N] [--updates=N] [--targets=kruise,baseline]
 *
 * Flags are shared by the benchmarks named: each reads the fields of its own options (see their DEFAULT_OPTIONS).
 *
 * Results go to bench/results/<name>.json at the repository root, only when the workload is the default one
 * (a smoke run with fewer pods must not overwrite the recorded numbers); `--no-write` skips writing anyway.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_OPTIONS as ADMISSION_DEFAULTS, admissionSummary, runAdmissionBench, type AdmissionBenchOptions,
} from './admission-bench.js';
import { DEFAULT_OPTIONS, runApiServerBench, type ApiServerBenchOptions, type ApiServerBenchResult } from './apiserver-bench.js';
import {
  DEFAULT_OPTIONS as INFORMER_DEFAULTS, informerSummary, runInformerBench, type InformerBenchOptions,
} from './informer-bench.js';
import { DEFAULT_OPTIONS as CRI_DEFAULTS, criSummary, runCriBench, type CriBenchOptions } from './cri-bench.js';
import type { ServerMode } from './server-child.js';
import { DEFAULT_OPTIONS as NODES_DEFAULTS, nodesSummary, runNodesBench, type NodesBenchOptions } from './nodes-bench.js';
import {
  DEFAULT_OPTIONS as IMAGEPULL_DEFAULTS, imagePullSummary, runImagePullBench, type ImagePullBenchOptions,
} from './imagepull-bench.js';
import type { Summary } from './stats.js';
import {
  DEFAULT_OPTIONS as SIDECARSET_DEFAULTS, sidecarSetSummary, runSidecarSetBench, type SidecarSetBenchOptions,
} from './sidecarset-bench.js';
import {
  DEFAULT_OPTIONS as CLONESET_DEFAULTS, cloneSetSummary, runCloneSetBench, type CloneSetBenchOptions,
} from './cloneset-bench.js';

interface Machine {
  nproc: number;
  cpuModel: string;
  memTotalBytes: number;
  freeH: string;
  node: string;
  platform: string;
  loadAverageAtStart: number[];
}

interface Benchmark {
  run(args: ParsedArgs, log: (line: string) => void): Promise<{ result: unknown; isDefault: boolean; summary: string }>;
}

interface ParsedArgs { names: string[]; flags: Map<string, string> }

const BENCHMARKS: Record<string, Benchmark> = {
  apiserver: {
    async run(args, log) {
      const seed = args.flags.has('seed') ? intFlag(args, 'seed') : Math.floor(Math.random() * 2 ** 31);
      const options: ApiServerBenchOptions = { seed, ...DEFAULT_OPTIONS, targets: [...DEFAULT_OPTIONS.targets] };
      const numeric = ['nodes', 'pods', 'namespaces', 'podsPerOwner', 'concurrency', 'listAllRepetitions', 'fieldListSerial',
        'fieldListConcurrent', 'watchers', 'allNamespaceWatchers', 'updates', 'updatesPerSecond', 'deliveryTimeoutMs'] as const;
      let isDefault = true;
      for (const k of numeric) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === DEFAULT_OPTIONS[k]; }
      }
      if (args.flags.has('targets')) {
        options.targets = args.flags.get('targets')!.split(',').map((t) => {
          if (t !== 'kruise' && t !== 'baseline') throw new Error(`unknown target ${t}`);
          return t as ServerMode;
        });
        isDefault &&= options.targets.length === 2;
      }
      log(`apiserver benchmark, seed ${seed} (repeat with --seed=${seed})`);
      const result = await runApiServerBench(options, log);
      return { result, isDefault, summary: apiServerSummary(result) };
    },
  },
  informer: {
    async run(args, log) {
      const seed = args.flags.has('seed') ? intFlag(args, 'seed') : Math.floor(Math.random() * 2 ** 31);
      const options: InformerBenchOptions = { seed, ...INFORMER_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(INFORMER_DEFAULTS) as (keyof typeof INFORMER_DEFAULTS)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === INFORMER_DEFAULTS[k]; }
      }
      log(`informer benchmark, seed ${seed} (repeat with --seed=${seed})`);
      const result = await runInformerBench(options, log);
      return { result, isDefault, summary: informerSummary(result) };
    },
  },
  admission: {
    async run(args, log) {
      const seed = args.flags.has('seed') ? intFlag(args, 'seed') : Math.floor(Math.random() * 2 ** 31);
      const options: AdmissionBenchOptions = { seed, ...ADMISSION_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(ADMISSION_DEFAULTS) as (keyof typeof ADMISSION_DEFAULTS)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === ADMISSION_DEFAULTS[k]; }
      }
      log(`admission benchmark, seed ${seed} (repeat with --seed=${seed})`);
      const result = await runAdmissionBench(options, log);
      return { result, isDefault, summary: admissionSummary(result) };
    },
  },
  cri: {
    async run(args, log) {
      const options: CriBenchOptions = { ...CRI_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(CRI_DEFAULTS) as (keyof CriBenchOptions)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === CRI_DEFAULTS[k]; }
      }
      const result = await runCriBench(options, log);
      return { result, isDefault, summary: criSummary(result) };
    },
  },
  nodes: {
    async run(args, log) {
      const options: NodesBenchOptions = { ...NODES_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(NODES_DEFAULTS) as (keyof NodesBenchOptions)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === NODES_DEFAULTS[k]; }
      }
      log(`nodes benchmark: ${options.nodes} nodes, ${options.pods} pods`);
      const result = await runNodesBench(options, log);
      return { result, isDefault, summary: nodesSummary(result) };
    },
  },
  imagepull: {
    async run(args, log) {
      const options: ImagePullBenchOptions = { ...IMAGEPULL_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(IMAGEPULL_DEFAULTS) as (keyof ImagePullBenchOptions)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === IMAGEPULL_DEFAULTS[k]; }
      }
      log(`imagepull benchmark: ${options.nodes} nodes at parallelism ${options.parallelism}; agent with ${options.images} images`);
      const result = await runImagePullBench(options, log);
      return { result, isDefault, summary: imagePullSummary(result) };
    },
  },
  sidecarset: {
    async run(args, log) {
      const options: SidecarSetBenchOptions = { ...SIDECARSET_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(SIDECARSET_DEFAULTS) as (keyof SidecarSetBenchOptions)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === SIDECARSET_DEFAULTS[k]; }
      }
      log(`sidecarset benchmark: ${options.pods} pods on ${options.nodes} nodes, maxUnavailable ${options.maxUnavailablePercent}%`);
      const result = await runSidecarSetBench(options, log);
      return { result, isDefault, summary: sidecarSetSummary(result) };
    },
  },
  cloneset: {
    async run(args, log) {
      const options: CloneSetBenchOptions = { ...CLONESET_DEFAULTS };
      let isDefault = true;
      for (const k of Object.keys(CLONESET_DEFAULTS) as (keyof CloneSetBenchOptions)[]) {
        if (args.flags.has(k)) { options[k] = intFlag(args, k); isDefault &&= options[k] === CLONESET_DEFAULTS[k]; }
      }
      log(`cloneset benchmark: ${options.nodes} nodes, ${options.pods} pods; ${options.cloneSets} CloneSets x ${options.podsPerCloneSet}`);
      const result = await runCloneSetBench(options, log);
      return { result, isDefault, summary: cloneSetSummary(result) };
    },
  },
};

function intFlag(args: ParsedArgs, name: string): number {
  const v = Number(args.flags.get(name));
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

function parseArgs(argv: string[]): ParsedArgs {
  const names: string[] = [];
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) flags.set(m[1]!, m[2] ?? 'true'); else names.push(a);
  }
  return { names, flags };
}

/** The repository root: the nearest ancestor of this file with a package.json (dist/ or dist-bench/ both work). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the benchmark script');
    dir = up;
  }
}

function machine(): Machine {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch { /* not Linux */ }
  let freeH = '';
  try { freeH = execFileSync('free', ['-h'], { encoding: 'utf8' }).trim(); } catch { /* no procps */ }
  return {
    nproc: availableParallelism(), cpuModel, memTotalBytes: totalmem(), freeH, node: process.version,
    platform: `${process.platform}-${process.arch}`, loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/**
 * Which code was measured: the commit, and the working-tree changes under src/ when the run started (the tree is
 * shared, and a run compiles whatever it holds). Read-only git; null outside a repository.
 */
function source(root: string): { commit: string; dirtySrcFiles: string[] } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' })
      .split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(3));
    return { commit, dirtySrcFiles: dirty };
  } catch {
    return null;
  }
}

const fmt = (s: Summary): string => `${s.p50} / ${s.p99}`;

function apiServerSummary(r: ApiServerBenchResult): string {
  const b = r.results.baseline;
  const k = r.results.kruise;
  const rows: string[] = ['| metric | kruise-ts | baseline | ratio |', '|---|---:|---:|---:|'];
  const row = (name: string, kv: string | undefined, bv: string | undefined, ratioKey?: string): void => {
    const x = ratioKey && r.ratios ? r.ratios[ratioKey] : undefined;
    rows.push(`| ${name} | ${kv ?? '–'} | ${bv ?? '–'} | ${x === undefined || x === null ? '–' : `${x}×`} |`);
  };
  const mibOf = (x: number | undefined): string | undefined => (x === undefined ? undefined : (x / 1024 ** 2).toFixed(0));
  row('pod creates/s (8 in flight)', k && String(k.create.perSecond), b && String(b.create.perSecond), 'create throughput (baseline/kruise, >1 = kruise slower)');
  row('create latency p50 / p99 ms', k && fmt(k.create.latencyMs), b && fmt(b.create.latencyMs));
  row('server CPU per create µs', k && String(k.create.serverCpuUsPerOp), b && String(b.create.serverCpuUsPerOp), 'create server CPU per op');
  row('list all pods p50 / p99 ms', k && fmt(k.listAll.latencyMs), b && fmt(b.listAll.latencyMs), 'list all p50');
  row('server CPU per list-all ms', k && String(k.listAll.serverCpuMsPerOp), b && String(b.listAll.serverCpuMsPerOp), 'list all server CPU per op');
  row('list spec.nodeName= p50 / p99 ms (serial)', k && fmt(k.listByNode.serial.latencyMs), b && fmt(b.listByNode.serial.latencyMs), 'list by node p99 (serial)');
  row('list spec.nodeName= p50 / p99 ms (8 in flight)', k && fmt(k.listByNode.concurrent.latencyMs), b && fmt(b.listByNode.concurrent.latencyMs));
  row('list spec.nodeName= req/s (8 in flight)', k && String(k.listByNode.concurrent.perSecond), b && String(b.listByNode.concurrent.perSecond), 'list by node throughput (baseline/kruise)');
  row('status patch p50 / p99 ms', k && fmt(k.watch.writeLatencyMs), b && fmt(b.watch.writeLatencyMs));
  row('watch delivery from ack p50 / p99 ms', k && fmt(k.watch.deliveryFromAckMs), b && fmt(b.watch.deliveryFromAckMs), 'watch delivery p99 from ack');
  row('watch delivery from send p50 / p99 ms', k && fmt(k.watch.deliveryFromSendMs), b && fmt(b.watch.deliveryFromSendMs), 'watch delivery p99 from send');
  row('deliveries received / expected', k && `${k.watch.received} / ${k.watch.expectedDeliveries}`, b && `${b.watch.received} / ${b.watch.expectedDeliveries}`);
  row('RSS after load MiB', k && mibOf(k.memoryAfterLoad.rssBytes), b && mibOf(b.memoryAfterLoad.rssBytes), 'RSS after load');
  row('heapUsed after load (after GC) MiB', k && mibOf(k.memoryAfterLoad.afterGc?.heapUsedBytes), b && mibOf(b.memoryAfterLoad.afterGc?.heapUsedBytes), 'heapUsed after load (after GC)');
  for (const phase of ['list-all', 'list-by-node', 'watch']) {
    const at = (x: typeof k): string | undefined => {
      const m = x?.memoryTimeline.find((e) => e.phase === phase);
      return m && `${mibOf(m.rssBytes)} / ${mibOf(m.heapUsedBytes)}`;
    };
    row(`RSS / heapUsed after ${phase} MiB (no forced GC)`, at(k), at(b));
  }
  row('heapUsed after watch (after GC) MiB', k && mibOf(k.memoryAfterWatch.afterGc?.heapUsedBytes), b && mibOf(b.memoryAfterWatch.afterGc?.heapUsedBytes));
  const checks = ['', '| target | value | pass |', '|---|---:|:---:|', ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`)];
  return [...rows, ...checks].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const names = args.names.length > 0 ? args.names : Object.keys(BENCHMARKS);
  for (const n of names) if (!BENCHMARKS[n]) throw new Error(`unknown benchmark ${n}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  const root = repoRoot();
  const m = machine();
  const src = source(root);
  const command = ['node', ...process.execArgv, relative(root, fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ');
  console.log(`machine: ${m.nproc} CPUs (${m.cpuModel}), ${(m.memTotalBytes / 1024 ** 3).toFixed(1)} GiB, node ${m.node}, load ${m.loadAverageAtStart.join(' ')}`);
  for (const name of names) {
    const started = Date.now();
    const { result, isDefault, summary } = await BENCHMARKS[name]!.run(args, (line) => console.log(line));
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    console.log(`\n${name} finished in ${seconds} s\n\n${summary}\n`);
    if (isDefault && !args.flags.has('no-write')) {
      const dir = join(root, 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.json`);
      const doc = { benchmark: name, date: new Date().toISOString(), command, npmScript: 'npm run bench', source: src, machine: m, durationSeconds: seconds, ...(result as object) };
      writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
      console.log(`results written to ${relative(root, file)}`);
    } else {
      console.log('results not written (non-default workload or --no-write)');
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

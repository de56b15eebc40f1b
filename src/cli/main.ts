#!/usr/bin/env node
/**
 * The one binary for every role: `kruise-ts sandbox | coordinator | agent`. Flags are parsed here and only here;
 * the pino root logger is made here; only this file may exit the process.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { parseFeatureGates, sandboxFeatureGates } from '../api/feature-gates.js';
import { parseCriEndpoint } from '../cri/cri-endpoint.js';
import { CLIENT_RATE_DEFAULTS } from '../kube/client-config.js';
// Only types from the roles: each command imports its implementation when it runs, so that the agent never loads
// the sandbox or the coordinator (their modules cost the agent tens of MiB of RSS; docs/benchmarks.md).
import type { RoleFlags } from './runtime-role.js';
import { addCriCommands } from './cri-commands.js';
import { addGetCommands } from './get-imagepulljobs.js';
import { addRolloutCommands } from './rollout.js';
import { VERSION } from '../api/version.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535 (0 = any free port)');
  return n;
}

function makeLogger(level: string): Logger {
  // Logs go to stderr so stdout carries only what a user or script reads (the ready line).
  return pino({ level, base: { app: 'kruise-ts' } }, pino.destination(2));
}

/** Stops on SIGINT/SIGTERM; a second signal exits at once. */
function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => { log.error('shutdown took longer than 30s: exiting'); process.exit(1); }, 30_000);
    force.unref();
    stop().then(() => process.exit(0), (e: unknown) => { log.error({ err: e }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function fail(message: string): never {
  process.stderr.write(`kruise-ts: ${message}\n`);
  process.exit(2);
}

const program = new Command()
  .name('kruise-ts')
  .description('OpenKruise v0.9 workload controllers and node agent, in TypeScript')
  .version(VERSION)
  .showHelpAfterError();

program.command('sandbox')
  .description('run an embedded Kubernetes API server with our CRDs, the coordinator\'s webhooks and ImagePullJob controllers, and emulated nodes with their agents')
  .addOption(new Option('--port <port>', 'API server port on 127.0.0.1 (0 = any free port)').default(6443).argParser(parsePort))
  .option('--kubeconfig <path>', 'where to write the kubeconfig for kubectl', '.kruise-ts/kubeconfig')
  .option('--feature-gates <gates>', 'A=true,B=false; the sandbox turns the four v0.9 alpha gates on unless this says otherwise', '')
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .addOption(new Option('--nodes <n>', 'emulated nodes (0 = API server only)').default(3).argParser(parseCount))
  .option('--cri-endpoint <endpoint>', 'put every node on this CRI runtime (unix:///run/containerd/containerd.sock) instead of the built-in one')
  .addOption(new Option('--image-pull-seconds <s>', 'how long pulling an image the node does not have takes on the built-in runtime (one it has: 50 ms)').default(2).argParser(parseSeconds))
  .option('--node-labels <labels>', 'extra labels of every node: k=v,k2=v2', '')
  .option('--no-coordinator', 'do not run the coordinator\'s controllers: nothing reconciles CloneSets, SidecarSets or ImagePullJobs until '
    + 'you run one, e.g. `kruise-ts coordinator --kubeconfig <this kubeconfig> --no-leader-elect --health-port 0 --webhook-port 0` '
    + '(the sandbox keeps serving the webhooks until that coordinator takes them over)')
  .action(async (opts: {
    port: number; kubeconfig: string; featureGates: string; logLevel: string;
    nodes: number; criEndpoint?: string; imagePullSeconds: number; nodeLabels: string; coordinator: boolean;
  }) => {
    const { parseNodeLabels } = await import('../sandbox/node/node-object.js');
    let gates;
    let nodeLabels;
    try {
      gates = sandboxFeatureGates(opts.featureGates);
    } catch (e) {
      fail(KruiseError.is(e) ? `--feature-gates: ${e.message}` : String(e));
    }
    try {
      nodeLabels = parseNodeLabels(opts.nodeLabels);
    } catch (e) {
      fail(`--node-labels: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      if (opts.criEndpoint !== undefined) parseCriEndpoint(opts.criEndpoint);
    } catch (e) {
      fail(`--cri-endpoint: ${e instanceof Error ? e.message : String(e)}`);
    }
    const log = makeLogger(opts.logLevel);
    const kubeconfigPath = resolve(opts.kubeconfig);
    const { startSandbox } = await import('../sandbox/sandbox.js');
    let sandbox;
    try {
      sandbox = await startSandbox({
        port: opts.port, kubeconfigPath, featureGates: gates, logger: log, coordinator: opts.coordinator,
        nodes: {
          count: opts.nodes, imagePullSeconds: opts.imagePullSeconds, labels: nodeLabels,
          ...(opts.criEndpoint !== undefined ? { criEndpoint: opts.criEndpoint } : {}),
        },
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') fail(`port ${opts.port} is in use: pass --port 0 for any free port, or another port`);
      fail(`sandbox failed to start: ${err.message}`);
    }
    onShutdown(log, () => sandbox.close());
    process.stdout.write(`kruise-ts sandbox ready: export KUBECONFIG=${kubeconfigPath}\n`);
  });

function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100_000) throw new InvalidArgumentError('must be a whole number from 0 to 100000');
  return Number(value);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError('must be a number of seconds from 0 to 3600');
  return n;
}

function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number greater than 0');
  return n;
}

function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number greater than 0');
  return Number(value);
}

for (const role of ['coordinator', 'agent'] as const) {
  const rate = CLIENT_RATE_DEFAULTS[role];
  const cmd = program.command(role)
    .description(role === 'agent'
      ? 'node agent: pulls the images of its NodeImage and runs sidecar hot-upgrade swaps, through the CRI runtime'
      : 'controllers (CloneSet, SidecarSet, ImagePullJob, NodeImage) and admission webhooks, leader-elected')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster service account, else KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .addOption(new Option('--kube-api-qps <qps>', 'sustained requests per second to the API server').default(rate.qps).argParser(parsePositiveNumber))
    .addOption(new Option('--kube-api-burst <n>', 'requests above the sustained rate').default(rate.burst).argParser(parsePositiveInt))
    .addOption(new Option('--health-port <port>', 'port of /healthz, /readyz and /metrics (0 = any)').default(role === 'agent' ? 10221 : 8000).argParser(parsePort))
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info');
  if (role === 'coordinator') {
    cmd.option('--no-leader-elect', 'run without leader election (a single replica only)')
      .option('--leader-election-namespace <ns>', 'namespace of the leader Lease', 'kruise-system')
      .option('--leader-election-id <name>', 'name of the leader Lease', 'kruise-ts-coordinator')
      .addOption(new Option('--webhook-port <port>', 'port of the admission webhooks (0 = any)').default(9876).argParser(parsePort))
      .option('--webhook-host <host>', 'address the webhooks listen on', '0.0.0.0')
      .option('--cert-dir <dir>', 'tls.crt and tls.key (and ca.crt) for the webhooks, reloaded on change; default: a self-signed CA made at start')
      .option('--webhook-service <namespace/name>', 'Service the API server reaches the webhooks through; its CA bundle is patched into our webhook configurations')
      .option('--webhook-url-base <url>', 'instead of a Service: https://host:port written into the webhook configurations (they are created or replaced)')
      .option('--feature-gates <gates>', 'A=true,B=false (OpenKruise v0.9 gates and defaults)', '');
  } else {
    cmd.option('--node-name <name>', 'this node (default: env NODE_NAME)')
      .addOption(new Option('--max-concurrent-pulls <n>', 'image pulls at once on this node').default(2).argParser(parsePositiveInt))
      .addOption(new Option('--hot-upgrade-timeout-seconds <s>', 'how long a hot-upgraded sidecar may take to run and start before its swap fails').default(120).argParser(parsePositiveInt))
      .option('--cri-endpoint <endpoint>', 'CRI socket (unix:///run/containerd/containerd.sock); default: discovered under --host-root')
      .option('--host-root <dir>', 'where the host filesystem is mounted, for CRI socket discovery', '/');
  }
  cmd.action(async (opts: RoleFlags & { logLevel: string }) => {
    const log = makeLogger(opts.logLevel);
    let built;
    try {
      if (opts.featureGates !== undefined) parseFeatureGates(opts.featureGates);
      const { buildRole } = await import('./runtime-role.js');
      built = await buildRole(role, opts, {
        inClusterHost: process.env['KUBERNETES_SERVICE_HOST'],
        inClusterPort: process.env['KUBERNETES_SERVICE_PORT'],
        kubeconfig: process.env['KUBECONFIG'],
        home: process.env['HOME'],
        podName: process.env['POD_NAME'],
        nodeName: process.env['NODE_NAME'],
      }, log);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
    const stop = new AbortController();
    onShutdown(log, async () => { stop.abort(); await done; });
    log.info({ identity: built.identity, version: VERSION }, `${role} starting`);
    const done = built.run(stop.signal).catch((e: unknown) => {
      // Leadership lost or a fatal start-up error: exit so the Deployment restarts a fresh standby.
      log.error({ err: e instanceof Error ? e.message : String(e) }, `${role} stopped`);
      process.exit(1);
    });
  });
}

addCriCommands(program, { out: (t) => process.stdout.write(t), fail });
addGetCommands(program, {
  out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), fail,
  exit: (code) => process.exit(code), stdout: process.stdout,
});
addRolloutCommands(program, {
  out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), fail, exit: (code) => process.exit(code),
});

await program.parseAsync(process.argv);

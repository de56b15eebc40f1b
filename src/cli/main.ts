#!/usr/bin/env node
/**
 * The one binary for every role: `kruise-ts sandbox | coordinator | agent`. Flags are parsed here and only here;
 * the pino root logger is made here; only this file may exit the process.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { sandboxFeatureGates } from '../api/feature-gates.js';
import { startSandbox } from '../sandbox/sandbox.js';
import { VERSION } from './version.js';

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
  .description('run an embedded Kubernetes API server with our CRDs (and, as they land, the coordinator and emulated nodes)')
  .addOption(new Option('--port <port>', 'API server port on 127.0.0.1 (0 = any free port)').default(6443).argParser(parsePort))
  .option('--kubeconfig <path>', 'where to write the kubeconfig for kubectl', '.kruise-ts/kubeconfig')
  .option('--feature-gates <gates>', 'A=true,B=false; the sandbox turns the four v0.9 alpha gates on unless this says otherwise', '')
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .action(async (opts: { port: number; kubeconfig: string; featureGates: string; logLevel: string }) => {
    let gates;
    try {
      gates = sandboxFeatureGates(opts.featureGates);
    } catch (e) {
      fail(KruiseError.is(e) ? `--feature-gates: ${e.message}` : String(e));
    }
    const log = makeLogger(opts.logLevel);
    const kubeconfigPath = resolve(opts.kubeconfig);
    let sandbox;
    try {
      sandbox = await startSandbox({ port: opts.port, kubeconfigPath, featureGates: gates, logger: log });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') fail(`port ${opts.port} is in use: pass --port 0 for any free port, or another port`);
      fail(`sandbox failed to start: ${err.message}`);
    }
    onShutdown(log, () => sandbox.close());
    process.stdout.write(`kruise-ts sandbox ready: export KUBECONFIG=${kubeconfigPath}\n`);
  });

for (const role of ['coordinator', 'agent'] as const) {
  program.command(role)
    .description(role === 'agent' ? 'node agent (image puller, sidecar hot-upgrade swap): not implemented yet' : 'controllers and admission webhooks: not implemented yet')
    .allowUnknownOption()
    .action(() => fail(`the ${role} role is not implemented yet in this version; see the README's roadmap`));
}

await program.parseAsync(process.argv);

/**
 * `kruise-ts get imagepulljobs|imagepulljob|ipj [NAME]`: kubectl-like output for ImagePullJobs (the CRD's printer
 * columns, spec §4.2), a one-shot summary of one job with its nodes, and `--watch`: a live view with an overall bar
 * and one bar per node whose exit status says whether the job succeeded (exit codes in EXIT_CODES_HELP).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT_USAGE } from './get-imagepulljob-exit-codes.js';
import type { RenderTarget } from './get-imagepulljob-render.js';

// The command is declared here; what it runs (get-imagepulljobs-run.ts) is imported when it runs, so that
// `kruise-ts agent` and the other roles do not load it (it uses the coordinator's ImagePullJob code).

export interface GetIo {
  out(text: string): void;
  err(text: string): void;
  /** Usage errors, not found, API errors: exit 2. */
  fail(message: string): never;
  exit(code: number): never;
  stdout: RenderTarget['stream'];
}

export interface GetFlags {
  namespace?: string;
  allNamespaces?: boolean;
  kubeconfig?: string;
  context?: string;
  output: 'table' | 'json' | 'yaml';
  watch?: boolean;
  timeout?: number;
}

export const EXIT_CODES_HELP = `
Exit status with --watch:
  0    the job succeeded: an Always job completed with no failed node; a Never job (which never
       completes) once every target node has succeeded in the current round
  1    the job failed: it completed with failed nodes, exceeded activeDeadlineSeconds, or was deleted
       before it finished; a Never job once every target node finished the round and some failed
  2    usage error, job not found, or the API server refused or could not be reached
  3    --timeout passed before the job finished
  130  interrupted (Ctrl-C)
Without --watch the command exits 0 when it printed, 2 otherwise.

On a terminal --watch draws progress bars; otherwise (logs, CI) it prints one line per change.
A node's bar stays empty while it pulls: CRI pulls report no progress, so it fills when the pull ends.

Examples:
  kruise-ts get imagepulljobs -A
  kruise-ts get ipj warm-nginx -n shop --watch --timeout 10m
  kruise-ts get imagepulljob warm-nginx -o yaml`;

/** `30`, `30s`, `5m`, `1h`, `1500ms` → ms; 0 = no limit. */
export function parseTimeout(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new Error(`--timeout ${value}: expected a duration such as 90s, 10m or 1h (0 = no limit)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
}

export function addGetCommands(program: Command, io: GetIo): void {
  const get = program.command('get')
    .description('show kruise-ts resources like kubectl get; a live progress view for an ImagePullJob')
    // Usage errors exit 2 here, as documented (commander's default is 1); help exits 0. Inherited by subcommands.
    .exitOverride((err) => io.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));
  get.command('imagepulljobs')
    .aliases(['imagepulljob', 'ipj'])
    .argument('[name]', 'one job: a summary with its nodes, or with --watch a live view')
    .description('list ImagePullJobs (NAME TOTAL ACTIVE SUCCEED FAILED AGE MESSAGE), or show / watch one')
    .option('-n, --namespace <namespace>', 'namespace (default: the kubeconfig context\'s, else "default")')
    .option('-A, --all-namespaces', 'list the jobs of every namespace')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .option('-w, --watch', 'follow one job until it finishes, with an overall and a per-node progress bar; the exit status says how it ended')
    .addOption(new Option('--timeout <duration>', 'with --watch: give up after this long (90s, 10m, 1h; 0 = never)').argParser((v) => {
      try { return parseTimeout(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
    }))
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (name: string | undefined, flags: GetFlags) => {
      try {
        const { run } = await import('./get-imagepulljobs-run.js');
        await run(name, flags, io);
      } catch (e) {
        io.fail(e instanceof Error ? e.message : String(e));
      }
    });
}

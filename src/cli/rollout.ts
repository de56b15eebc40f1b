/**
 * `kruise-ts rollout status|pause|resume|undo cloneset/NAME`: follow a CloneSet update, hold or release it
 * (`spec.updateStrategy.paused`, spec §3.6 step 1), and roll its template back to the previous ControllerRevision
 * (§5.1, §6.1). Like `kubectl rollout`, for the CloneSet kind kubectl does not know.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseTimeout } from './get-imagepulljobs.js';

// Declared here; the implementation (rollout-run.ts) is imported when a command runs, so that the agent and the
// other roles never load it (cli/main.ts keeps every role lean).

export const ROLLOUT_EXIT_COMPLETE = 0;
export const ROLLOUT_EXIT_TIMEOUT = 1;
export const ROLLOUT_EXIT_USAGE = 2;
export const ROLLOUT_EXIT_INTERRUPTED = 130;

export interface RolloutIo {
  out(text: string): void;
  err(text: string): void;
  /** Usage errors, not found, API errors: exit 2. */
  fail(message: string): never;
  exit(code: number): never;
}

export interface RolloutFlags {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export interface RolloutStatusFlags extends RolloutFlags {
  watch?: boolean;
  /** ms; 0 = no limit. */
  timeout: number;
}

export type RolloutAction = 'status' | 'pause' | 'resume' | 'undo';

const STATUS_HELP = `
The rollout is complete when the controller has observed the latest spec (observedGeneration >= generation),
updatedReplicas and updatedReadyReplicas both equal replicas - partition (partition scaled like the controller
does), and, with partition 0, currentRevision equals updateRevision.

Exit status:
  0    the rollout is complete
  1    it is not: at once without --watch, or when --timeout passed with --watch
  2    usage error, CloneSet not found, or the API server refused or could not be reached
  130  interrupted (Ctrl-C)

Examples:
  kruise-ts rollout status cloneset/sample
  kruise-ts rollout status cloneset/sample -n shop --watch --timeout 10m`;

function commonOptions(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'namespace (default: the kubeconfig context\'s, else "default")')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context');
}

export function addRolloutCommands(program: Command, io: RolloutIo): void {
  const rollout = program.command('rollout')
    .description('manage the rollout of a CloneSet: status, pause, resume, undo')
    // Usage errors exit 2, as documented (commander's default is 1); help exits 0. Inherited by subcommands.
    .exitOverride((err) => io.exit(err.exitCode === 0 ? 0 : ROLLOUT_EXIT_USAGE));
  const runAction = async (action: RolloutAction, resource: string, name: string | undefined, flags: RolloutFlags): Promise<void> => {
    try {
      const { runRollout } = await import('./rollout-run.js');
      await runRollout(action, resource, name, flags, io);
    } catch (e) {
      io.fail(e instanceof Error ? e.message : String(e));
    }
  };

  commonOptions(rollout.command('status')
    .argument('<resource>', 'cloneset/NAME (or: cloneset NAME)')
    .argument('[name]')
    .description('show updated and ready pods per revision; exit 0 when the rollout is complete')
    .option('-w, --watch', 'wait until the rollout completes, printing each change')
    .addOption(new Option('--timeout <duration>', 'with --watch: give up after this long (90s, 10m, 1h; 0 = never)')
      .default(300_000, '5m').argParser((v) => {
        try { return parseTimeout(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
      }))
    .addHelpText('after', STATUS_HELP))
    .action((resource: string, name: string | undefined, flags: RolloutStatusFlags) => runAction('status', resource, name, flags));

  for (const [action, description] of [
    ['pause', 'stop the CloneSet from updating more pods (spec.updateStrategy.paused=true)'],
    ['resume', 'let a paused CloneSet update its pods again (spec.updateStrategy.paused=false)'],
    ['undo', 'roll the pod template back to the previous revision (the one before the update revision)'],
  ] as const) {
    commonOptions(rollout.command(action)
      .argument('<resource>', 'cloneset/NAME (or: cloneset NAME)')
      .argument('[name]')
      .description(description))
      .action((resource: string, name: string | undefined, flags: RolloutFlags) => runAction(action, resource, name, flags));
  }
}

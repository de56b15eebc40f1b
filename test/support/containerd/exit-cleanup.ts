/**
 * Last-resort cleanup when a test process ends without calling `stop()`: an uncaught error, `process.exit`, or
 * SIGINT/SIGTERM/SIGHUP (the test runner ends a file that timed out with SIGTERM). Only synchronous work can run
 * there, so each resource registers a synchronous "kill everything by PID, unmount, remove" function.
 *
 * This is the one piece of module-level mutable state in the harness, on purpose: process exit and signals are
 * process-wide, and one listener per event is what keeps a long test file from piling up listeners.
 *
 * Known gap: nothing runs on SIGKILL of the test process. The children then outlive it; their base directories
 * (`/tmp/kctd-*`) keep a `harness.json` naming their PIDs, for a person to clean up by hand.
 */

type SyncCleanup = () => void;

const cleanups = new Map<symbol, { name: string; run: SyncCleanup }>();
let installed = false;

function runAll(): void {
  // Newest first: a containerd registered after its registry is torn down before it.
  for (const [key, c] of [...cleanups.entries()].reverse()) {
    cleanups.delete(key);
    try {
      c.run();
    } catch (err) {
      process.stderr.write(`test harness: emergency cleanup of ${c.name} failed: ${String(err)}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // Keep the default behaviour (terminate with the signal) unless someone else handles it.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
}

/** Registers `run` to be called if the process ends first; the returned function unregisters it. */
export function registerExitCleanup(name: string, run: SyncCleanup): () => void {
  install();
  const key = Symbol(name);
  cleanups.set(key, { name, run });
  return () => { cleanups.delete(key); };
}

/**
 * Processes of the harness, always addressed by PID: other tests may run their own containerd or registry at the
 * same time, so nothing here ever matches a process by name (notes/containerd-for-tests.md "Cleaning up").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** A child started by the harness with its output appended to a log file. */
export interface HarnessProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Settles with the exit code (or 128 + signal number) once the process has ended and been reaped. */
  readonly exited: Promise<number>;
  /** True once `exited` has settled. */
  hasExited(): boolean;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function spawnLogged(command: string, args: readonly string[], logPath: string): HarnessProcess {
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => { done = true; reject(err); });
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal === null ? 0 : SIGNAL_NUMBERS[signal] ?? 0));
    });
  });
  // A failed spawn surfaces through `exited`; this keeps it from being an unhandled rejection when nobody awaits it.
  exited.catch(() => undefined);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { pid: child.pid, child, logPath, exited, hasExited: () => done };
}

/** True if `pid` names a live process; a zombie (ended, not yet reaped) counts as gone. */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Field 3 is the state; the command name (field 2) is in parentheses and may itself contain spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Polls until `pid` is gone or the deadline passes; returns whether it is gone. */
export async function waitForPidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await delay(10);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminatePid(pid: number, graceMs: number): Promise<void> {
  signalPid(pid, 'SIGTERM');
  if (await waitForPidGone(pid, graceMs)) return;
  signalPid(pid, 'SIGKILL');
  if (!(await waitForPidGone(pid, 5_000))) throw new Error(`process ${pid} survived SIGKILL`);
}

/** Ends a harness child: SIGTERM, SIGKILL after `graceMs`, and waits until node has reaped it. */
export async function terminateChild(p: HarnessProcess, graceMs: number): Promise<void> {
  if (p.hasExited()) return;
  signalPid(p.pid, 'SIGTERM');
  const timer = setTimeout(() => { signalPid(p.pid, 'SIGKILL'); }, graceMs);
  try {
    await p.exited.catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}

/** The argv of a process, or undefined when it is gone or unreadable. */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.length === 0 ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * PIDs of containerd shims serving the containerd at `socketPath`: a shim's argv carries `-address <socket>`.
 * Shims outlive containerd (they are re-parented), so this is the only way back to them.
 */
export function findShimPids(socketPath: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = readCmdline(Number(entry));
    if (argv === undefined || !argv[0]?.includes('containerd-shim')) continue;
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === socketPath && pidAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** Blocks the thread for `ms` (only for the synchronous exit path, where the event loop no longer runs). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Synchronous SIGKILL of `pids`, waiting up to `timeoutMs` for them to go. */
export function killPidsSync(pids: readonly number[], timeoutMs = 3_000): void {
  for (const pid of pids) signalPid(pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive) && Date.now() < deadline) sleepSync(10);
}

/** The executable `binary` resolves to on PATH, or undefined. */
export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, binary);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

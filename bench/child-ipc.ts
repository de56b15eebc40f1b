/**
 * Forking a benchmark helper and talking to it over the fork IPC channel, strictly request/reply: each message
 * sent gets exactly one answer, `{ type: 'error', message }` when the child failed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Forks `url` with the parent's execArgv (so `--cpu-prof` reaches it) plus `--expose-gc`. */
export function forkHelper(url: URL): ChildProcess {
  return fork(url, [], { execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Sends one message and waits for the next reply; rejects on an error reply or if the child exits. */
export function ask<R extends { type: string }>(child: ChildProcess, m: object, what: string): Promise<Exclude<R, { type: 'error' }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: R | { type: 'error'; message: string }): void => {
      cleanup();
      if (r.type === 'error') reject(new Error(`${what}: ${(r as { message: string }).message}`));
      else resolve(r as Exclude<R, { type: 'error' }>);
    };
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`${what} exited with ${String(code)}`)); };
    const cleanup = (): void => { child.off('message', onMessage); child.off('exit', onExit); };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(m);
  });
}

/** Waits for the child to exit (after it was told to stop, or on its own). */
export async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, 'exit');
}

/**
 * Parent side of server-child.ts: forks it, starts a server in it and asks it for CPU and memory readings.
 * The child inherits the parent's execArgv, so `node --cpu-prof dist/bench/run.js` profiles it as well.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { ChildMessage, ChildStats, ParentMessage, ServerMode } from './server-child.js';

export class ServerProcess {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static async start(mode: ServerMode, tls: { certPem: string; keyPem: string }, token: string): Promise<ServerProcess> {
    const child = fork(new URL('./server-child.js', import.meta.url), [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await ServerProcess.ask(child, { type: 'start', mode, tls, token });
    if (ready.type !== 'ready') throw new Error(`server child did not start: ${JSON.stringify(ready)}`);
    return new ServerProcess(child, ready.url);
  }

  async stats(gc = false): Promise<ChildStats> {
    const m = await ServerProcess.ask(this.child, { type: 'stats', gc });
    if (m.type !== 'stats') throw new Error(`unexpected reply from server child: ${JSON.stringify(m)}`);
    return m;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' } satisfies ParentMessage);
    await exited;
  }

  /** Sends one message and waits for the next reply (the protocol is strictly request/reply). */
  private static ask(child: ChildProcess, m: ParentMessage): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const onMessage = (r: ChildMessage): void => {
        cleanup();
        if (r.type === 'error') reject(new Error(`server child: ${r.message}`));
        else resolve(r);
      };
      const onExit = (code: number | null): void => { cleanup(); reject(new Error(`server child exited with ${String(code)}`)); };
      const cleanup = (): void => { child.off('message', onMessage); child.off('exit', onExit); };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(m);
    });
  }
}

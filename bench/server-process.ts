/**
 * Parent side of server-child.ts: forks it, starts a server in it and asks it for CPU and memory readings.
 * The child inherits the parent's execArgv, so `node --cpu-prof dist/bench/run.js` profiles it as well.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { ClusterShape } from './cluster-loader.js';
import type { FaultReport } from './random-faults.js';
import type { ChildMessage, ChildStats, KruiseServerSettings, ParentMessage, ServerMode } from './server-child.js';

export class ServerProcess {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static async start(mode: ServerMode, tls: { certPem: string; keyPem: string }, token: string, kruise?: KruiseServerSettings): Promise<ServerProcess> {
    const child = fork(new URL('./server-child.js', import.meta.url), [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await ServerProcess.ask(child, { type: 'start', mode, tls, token, ...(kruise ? { kruise } : {}) });
    if (ready.type !== 'ready') throw new Error(`server child did not start: ${JSON.stringify(ready)}`);
    return new ServerProcess(child, ready.url);
  }

  get pid(): number | undefined { return this.child.pid; }

  async stats(gc = false): Promise<ChildStats> {
    const m = await ServerProcess.ask(this.child, { type: 'stats', gc });
    if (m.type !== 'stats') throw new Error(`unexpected reply from server child: ${JSON.stringify(m)}`);
    return m;
  }

  /** Creates the benchmark cluster inside the server (kruise mode). */
  async load(cluster: ClusterShape): Promise<{ pods: number; seconds: number }> {
    const m = await this.expect('loaded', { type: 'load', cluster });
    return { pods: m.pods, seconds: m.seconds };
  }

  /** Turns random faults on for one user agent (or off, with `null`); returns the faults injected since the last call. */
  async faults(enable: { seed: number; userAgent: string } | null): Promise<FaultReport> {
    return (await this.expect('faults', { type: 'faults', enable })).injected;
  }

  /** Breaks every open watch connection; returns how many. */
  async dropWatches(): Promise<number> {
    return (await this.expect('dropped', { type: 'dropWatches' })).count;
  }

  /** name → resourceVersion of every stored object of `resource` (`<group>/<plural>`) in `namespace`. */
  async storeView(resource: string, namespace: string): Promise<Map<string, string>> {
    return new Map((await this.expect('storeView', { type: 'storeView', resource, namespace })).entries);
  }

  /** Starts stamping the commits of sequence-numbered status writes (see server-child.ts). */
  async recordCommits(resource: string): Promise<void> {
    await this.expect('ok', { type: 'recordCommits', resource });
  }

  /** Stops stamping; returns sequence numbers and their commit times (monotonic ms). */
  async commitTimes(): Promise<{ seqs: number[]; atMs: number[] }> {
    const m = await this.expect('commitTimes', { type: 'commitTimes' });
    return { seqs: m.seqs, atMs: m.atMs };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' } satisfies ParentMessage);
    await exited;
  }

  private async expect<K extends ChildMessage['type']>(type: K, m: ParentMessage): Promise<Extract<ChildMessage, { type: K }>> {
    const r = await ServerProcess.ask(this.child, m);
    if (r.type !== type) throw new Error(`unexpected reply from server child: ${JSON.stringify(r).slice(0, 300)}`);
    return r as Extract<ChildMessage, { type: K }>;
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

/**
 * RSS and CPU time of another process, read from /proc (Linux only), for processes the benchmark spawns but does
 * not control over IPC (the real `kruise-ts agent` binary, a bare `node` baseline). `VmRSS` is the resident set now,
 * `VmHWM` the kernel's own peak of it (so a peak between two samples is not missed); CPU is utime + stime of
 * /proc/<pid>/stat in clock ticks (`getconf CLK_TCK`, 100 on every Linux we run on).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface ProcReading {
  /** performance.now() of this process when read. */
  atMs: number;
  rssBytes: number;
  /** Peak RSS since the process started (VmHWM). */
  hwmBytes: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function kib(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** One reading, or undefined once the process is gone. */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return { atMs: performance.now(), rssBytes: kib(status, 'VmRSS'), hwmBytes: kib(status, 'VmHWM'), cpuSeconds: ticks / clockTicks() };
  } catch {
    return undefined;
  }
}

/** Reads one process every `intervalMs` until stopped; keeps every reading. */
export class ProcSampler {
  readonly readings: ProcReading[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(readonly pid: number, intervalMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes a reading now (also kept); undefined once the process is gone. */
  sample(): ProcReading | undefined {
    const r = readProc(this.pid);
    if (r) this.readings.push(r);
    return r;
  }

  /** Readings taken in [fromMs, toMs] (performance.now() times). */
  between(fromMs: number, toMs: number): ProcReading[] {
    return this.readings.filter((r) => r.atMs >= fromMs && r.atMs <= toMs);
  }

  stop(): void { clearInterval(this.timer); }
}

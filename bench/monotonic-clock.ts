/**
 * A clock that several benchmark processes on one machine can compare: `process.hrtime` reads CLOCK_MONOTONIC,
 * which Linux shares between processes (unlike `performance.now()`, whose origin is each process's start).
 * The server child stamps commits with it and the benchmark process stamps reconciles, so their difference is
 * a latency across processes.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

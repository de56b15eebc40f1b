/** Summary statistics for latency samples (nearest-rank percentiles, as most load tools report them). */

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarise(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = Float64Array.from(samples).sort();
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  let sum = 0;
  for (const x of s) sum += x;
  return { n: s.length, p50: round(rank(50)), p90: round(rank(90)), p99: round(rank(99)), max: round(s[s.length - 1]!), mean: round(sum / s.length) };
}

/** Three significant decimals are more than the noise of these machines allows. */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a / b` rounded, or null when the baseline is zero or missing. */
export function ratio(a: number, b: number): number | null {
  return b > 0 && Number.isFinite(a) && Number.isFinite(b) ? round(a / b, 2) : null;
}

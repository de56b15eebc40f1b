/**
 * Reads a prom-client registry into flat samples, so the informer benchmark can report the metrics of one phase
 * (the difference of two snapshots) without resetting metrics the controller holds handles to.
 */
import type { Registry } from 'prom-client';
import { round } from './stats.js';

interface Sample { metric: string; labels: Record<string, string | number>; value: number }

export class MetricsSnapshot {
  private constructor(private readonly samples: Map<string, Sample>) {}

  static async take(registry: Registry): Promise<MetricsSnapshot> {
    const samples = new Map<string, Sample>();
    for (const m of await registry.getMetricsAsJSON()) {
      for (const v of m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
        const s: Sample = { metric: v.metricName ?? m.name, labels: { ...v.labels }, value: v.value };
        samples.set(keyOf(s), s);
      }
    }
    return new MetricsSnapshot(samples);
  }

  /** This snapshot minus an earlier one (counters and histograms; a gauge's difference means little). */
  since(earlier: MetricsSnapshot): MetricsSnapshot {
    const out = new Map<string, Sample>();
    for (const [k, s] of this.samples) out.set(k, { ...s, value: s.value - (earlier.samples.get(k)?.value ?? 0) });
    return new MetricsSnapshot(out);
  }

  /** Sum of a counter's samples whose labels include `match`. */
  counter(metric: string, match: Record<string, string> = {}): number {
    let n = 0;
    for (const s of this.matching(metric, match)) n += s.value;
    return n;
  }

  /** Counter samples of `metric` by the value of `label`. */
  byLabel(metric: string, label: string, match: Record<string, string> = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.matching(metric, match)) {
      if (s.value === 0) continue;
      const k = String(s.labels[label]);
      out[k] = (out[k] ?? 0) + s.value;
    }
    return out;
  }

  /**
   * A seconds histogram in ms: count, mean, and for p50/p99 the upper bound of the bucket holding that rank
   * (so "≤ x ms"; the buckets double, so this is at most 2× the true value).
   */
  histogramMs(metric: string, match: Record<string, string> = {}): HistogramMs {
    const count = this.counter(`${metric}_count`, match);
    const sum = this.counter(`${metric}_sum`, match);
    const buckets = this.matching(`${metric}_bucket`, match)
      .map((s) => ({ le: Number(s.labels.le), n: s.value }))
      .sort((a, b) => a.le - b.le);
    const bound = (q: number): number | null => {
      if (count === 0) return null;
      const b = buckets.find((x) => x.n >= q * count);
      return b && Number.isFinite(b.le) ? round(b.le * 1000, 3) : null;
    };
    return { count, meanMs: count > 0 ? round((sum / count) * 1000, 4) : null, p50AtMostMs: bound(0.5), p99AtMostMs: bound(0.99) };
  }

  private matching(metric: string, match: Record<string, string>): Sample[] {
    const out: Sample[] = [];
    for (const s of this.samples.values()) {
      if (s.metric !== metric) continue;
      if (Object.entries(match).every(([k, v]) => String(s.labels[k]) === v)) out.push(s);
    }
    return out;
  }
}

export interface HistogramMs { count: number; meanMs: number | null; p50AtMostMs: number | null; p99AtMostMs: number | null }

function keyOf(s: Sample): string {
  return `${s.metric}{${Object.keys(s.labels).sort().map((k) => `${k}=${String(s.labels[k])}`).join(',')}}`;
}

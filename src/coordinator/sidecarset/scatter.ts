/**
 * Scatter ordering of upgrade candidates (spec §7.3 step 7; upstream `updatesort.scatterSort` and SidecarSet's
 * `parseUpdateScatterTerms`): after the ActivePods order, Pods matching a scatter term are spread evenly among the
 * others, so an upgrade batch does not hit one zone/rack/app at once. Terms are applied most-populous first; for
 * each, the last matching candidate is moved to the very end. Pure; float32 comparisons as in Go.
 */
import type { Pod } from '../../api/pod-types.js';
import type { UpdateScatterStrategy, UpdateScatterTerm } from '../../api/workload-common-types.js';

function label(pod: Pod, key: string): string | undefined {
  const labels = pod.metadata.labels;
  return labels && Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * Expands `value: "*"` terms into one term per distinct value of that label among `pods` (first-seen order),
 * dropping duplicates (upstream `parseUpdateScatterTerms`).
 */
export function expandScatterTerms(scatter: UpdateScatterStrategy, pods: readonly Pod[]): UpdateScatterTerm[] {
  const out: UpdateScatterTerm[] = [];
  const add = (t: UpdateScatterTerm): void => {
    if (!out.some((o) => o.key === t.key && o.value === t.value)) out.push({ key: t.key, value: t.value });
  };
  for (const term of scatter) {
    if (term.value !== '*') {
      add(term);
      continue;
    }
    for (const pod of pods) {
      const v = label(pod, term.key);
      if (v !== undefined) add({ key: term.key, value: v });
    }
  }
  return out;
}

interface ScatterGroup {
  groupNum: number;
  matchedGroupSize: number;
  unmatchedGroupSize: number;
  unmatchedRemainder: number;
}

/** Go's math.Round (half away from zero) on a non-negative float. */
const goRound = (x: number): number => Math.floor(x + 0.5);

function newScatterGroup(matched: number, unmatched: number): ScatterGroup {
  const groupNum = Math.min(matched, unmatched);
  return {
    groupNum,
    matchedGroupSize: goRound(matched / groupNum),
    unmatchedGroupSize: goRound(unmatched / groupNum),
    unmatchedRemainder: 0,
  };
}

function groupByDensity(totalMatched: number, totalUnmatched: number, updateMatched: number, updateUnmatched: number): ScatterGroup {
  const totalGroup = newScatterGroup(totalMatched, totalUnmatched);
  const updateGroup = newScatterGroup(updateMatched, updateUnmatched);
  if (Math.fround(Math.fround(totalUnmatched) / Math.fround(totalMatched))
    >= Math.fround(Math.fround(updateUnmatched) / Math.fround(updateMatched))) {
    return updateGroup;
  }
  const m = totalGroup.matchedGroupSize;
  const u = totalGroup.unmatchedGroupSize;
  const groupNum = Math.trunc(updateMatched / m) < Math.trunc(updateUnmatched / u)
    ? Math.trunc(updateMatched / m)
    : Math.trunc(updateUnmatched / u);
  return { groupNum, matchedGroupSize: m, unmatchedGroupSize: u, unmatchedRemainder: updateUnmatched - groupNum * u };
}

function scatterByTerm(term: UpdateScatterTerm, all: readonly Pod[], order: Pod[]): Pod[] {
  let matched = order.filter((p) => (label(p, term.key) ?? '') === term.value);
  let unmatched = order.filter((p) => (label(p, term.key) ?? '') !== term.value);
  if (matched.length <= 1 || unmatched.length <= 1) return order;
  let totalMatched = all.filter((p) => (label(p, term.key) ?? '') === term.value).length;
  const totalUnmatched = all.length - totalMatched;
  const last = matched[matched.length - 1]!;
  matched = matched.slice(0, -1);
  totalMatched--;
  const group = groupByDensity(totalMatched, totalUnmatched, matched.length, unmatched.length);
  const out: Pod[] = [];
  if (group.unmatchedRemainder > 0) {
    out.push(...unmatched.slice(0, group.unmatchedRemainder));
    unmatched = unmatched.slice(group.unmatchedRemainder);
  }
  for (let i = 0; i < group.groupNum; i++) {
    out.push(...matched.slice(0, group.matchedGroupSize));
    matched = matched.slice(group.matchedGroupSize);
    out.push(...unmatched.slice(0, group.unmatchedGroupSize));
    unmatched = unmatched.slice(group.unmatchedGroupSize);
  }
  out.push(...matched, ...unmatched, last);
  return out;
}

/**
 * Reorders `order` (candidates, already in ActivePods order) by the scatter terms; `all` is every matched Pod
 * (totals are counted over it). Terms without a matching candidate are skipped.
 */
export function scatterSort(terms: readonly UpdateScatterTerm[], all: readonly Pod[], order: readonly Pod[]): Pod[] {
  let out = [...order];
  if (terms.length === 0 || out.length <= 1) return out;
  let sortedTerms: UpdateScatterTerm[] = [...terms];
  if (terms.length > 1) {
    const counts = new Map<string, number>();
    sortedTerms = [];
    for (const term of terms) {
      for (const pod of out) {
        if (label(pod, term.key) !== term.value) continue;
        const id = `${term.key}:${term.value}`;
        if (!counts.has(id)) sortedTerms.push({ key: term.key, value: term.value });
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    // Stable: most candidates first, ties in term order (Array.prototype.sort is stable).
    sortedTerms.sort((a, b) => counts.get(`${b.key}:${b.value}`)! - counts.get(`${a.key}:${a.value}`)!);
  }
  for (const term of sortedTerms) out = scatterByTerm(term, all, out);
  return out;
}

/**
 * Prints the top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`), grouped by
 * function, file and line. Used to say where the API server's time goes:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/run.js apiserver --targets=kruise --no-write
 *   node dist/bench/cpu-profile-top.js /tmp/prof/<server child>.cpuprofile [top=30] [fromUs-toUs]
 *
 * The optional window (monotonic µs, as the benchmark prints its phases) keeps only the samples of one phase.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

function main(): void {
  const [file, topText, windowText] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile-top <file.cpuprofile> [top]');
  const top = Number(topText ?? 30);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Sample time: each sample's delta is attributed to its node (more exact than hitCount × interval).
  const [from, to] = windowText ? windowText.split('-').map(Number) as [number, number] : [-Infinity, Infinity];
  const selfUs = new Map<number, number>();
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const grouped = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist[^/]*\/)/, '$1').replace(/^node:/, 'node:')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    grouped.set(key, (grouped.get(key) ?? 0) + us);
    total += us;
  }
  const idle = grouped.get('(idle)') ?? 0;
  console.log(`total ${(total / 1000).toFixed(0)} ms sampled, idle ${(idle / 1000).toFixed(0)} ms, busy ${((total - idle) / 1000).toFixed(0)} ms`);
  console.log('self ms  % busy  function');
  for (const [k, us] of [...grouped].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(7)}  ${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  ${k}`);
  }
}

main();

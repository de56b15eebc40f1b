/**
 * The two faces of `get imagepulljob --watch`: progress bars (cli-progress MultiBar) on a terminal, and one plain
 * line per change when stdout is not a TTY, so logs and CI output carry no cursor movement or colour codes.
 */
import { MultiBar, type GenericFormatter, type Options, type Params, type SingleBar } from 'cli-progress';
import { nodeLine, overallLine, type JobOutcome, type JobProgressView, type NodeProgress } from './get-imagepulljob-progress.js';

export interface ProgressRenderer {
  update(view: JobProgressView): void;
  /** Draws the last state, releases the terminal and writes the closing line. */
  finish(outcome: JobOutcome, view: JobProgressView | undefined): void;
}

export interface RenderTarget {
  /** stdout, or a stream a test passes. */
  stream: NodeJS.WritableStream & { isTTY?: boolean; rows?: number; columns?: number };
}

export function headerLine(v: JobProgressView): string {
  return `imagepulljob ${v.namespace}/${v.name}: image ${v.image}, completionPolicy ${v.completionType}`;
}

export function closingLine(outcome: JobOutcome, v: JobProgressView | undefined): string {
  const who = v ? `imagepulljob ${v.namespace}/${v.name}` : 'imagepulljob';
  return outcome.state === 'running' ? `${who}: stopped watching` : `${who} ${outcome.state}: ${outcome.reason}`;
}

/** One line per change: a node's phase, the overall counts, each failure message once. */
export class PlainRenderer implements ProgressRenderer {
  private readonly nodes = new Map<string, string>();
  private overall: string | undefined;
  private headerDone = false;

  constructor(private readonly out: (line: string) => void) {}

  update(v: JobProgressView): void {
    if (!this.headerDone) {
      this.out(headerLine(v));
      this.headerDone = true;
    }
    for (const n of v.nodes) {
      const line = nodeLine(n);
      if (this.nodes.get(n.node) === line) continue;
      this.nodes.set(n.node, line);
      this.out(`node ${n.node}: ${line}`);
    }
    const overall = overallLine(v);
    if (overall !== this.overall) {
      this.overall = overall;
      this.out(`overall: ${overall}`);
    }
  }

  finish(outcome: JobOutcome, v: JobProgressView | undefined): void {
    if (v) this.update(v);
    this.out(closingLine(outcome, v));
  }
}

interface BarPayload {
  label: string;
  suffix: string;
  failed: boolean;
}

const BAR_SIZE = 30;

/** `█` for done, `░` for to do; a failed node's bar is drawn with `x` so it reads as failed without colour. */
const formatLine: GenericFormatter = (_options: Options, params: Params, payload: BarPayload) => {
  const filled = payload.failed ? BAR_SIZE : Math.round(Math.max(0, Math.min(1, params.progress)) * BAR_SIZE);
  const bar = payload.failed ? 'x'.repeat(BAR_SIZE) : '█'.repeat(filled) + '░'.repeat(BAR_SIZE - filled);
  return `${payload.label} |${bar}| ${payload.suffix}`;
};

/**
 * An overall bar (nodes finished / desired) and one bar per node (0 → 100). Beyond what fits on the screen the
 * remaining nodes share one aggregate bar. Failure messages are printed above the bars, once per node and message,
 * so they stay in the scrollback.
 */
export class BarsRenderer implements ProgressRenderer {
  private readonly multi: MultiBar;
  private overall: SingleBar | undefined;
  private readonly bars = new Map<string, SingleBar>();
  private rest: SingleBar | undefined;
  private readonly logged = new Set<string>();
  private readonly maxNodeBars: number;

  constructor(private readonly target: RenderTarget) {
    this.multi = new MultiBar({
      stream: target.stream, format: formatLine, hideCursor: true, clearOnComplete: false, linewrap: false,
      // We own SIGINT (the CLI stops the bars and exits 130); cli-progress must not add its own handlers.
      gracefulExit: false, fps: 10, autopadding: true,
    });
    this.maxNodeBars = Math.max(3, (target.stream.rows ?? 24) - 5);
  }

  update(v: JobProgressView): void {
    if (!this.overall) {
      this.multi.log(`${headerLine(v)}\n`);
      this.overall = this.multi.create(1, 0, { label: 'overall', suffix: '', failed: false } satisfies BarPayload);
    }
    const width = Math.max(7, ...v.nodes.slice(0, this.maxNodeBars).map((n) => n.node.length));
    this.overall.setTotal(Math.max(1, v.desired));
    this.overall.update(v.succeeded + v.failed, { label: 'overall'.padEnd(width), suffix: overallLine(v), failed: false } satisfies BarPayload);
    const shown = v.nodes.slice(0, this.maxNodeBars);
    for (const n of shown) {
      let bar = this.bars.get(n.node);
      const payload = nodePayload(n, width);
      if (!bar) {
        bar = this.multi.create(100, n.progress, payload);
        this.bars.set(n.node, bar);
      }
      bar.update(n.progress, payload);
    }
    const hidden = v.nodes.slice(this.maxNodeBars);
    if (hidden.length > 0) {
      const done = hidden.filter((n) => n.phase === 'Succeeded' || n.phase === 'Failed').length;
      const failed = hidden.filter((n) => n.phase === 'Failed').length;
      const payload: BarPayload = { label: `+${hidden.length}`.padEnd(width), suffix: `${hidden.length} more node(s): ${done} finished, ${failed} failed`, failed: false };
      if (!this.rest) this.rest = this.multi.create(hidden.length, done, payload);
      this.rest.setTotal(hidden.length);
      this.rest.update(done, payload);
    }
    for (const n of v.nodes) {
      if (n.phase !== 'Failed') continue;
      const key = `${n.node}\u0000${n.message ?? ''}`;
      if (this.logged.has(key)) continue;
      this.logged.add(key);
      this.multi.log(`node ${n.node} failed: ${n.message ?? '(no message)'}\n`);
    }
  }

  finish(outcome: JobOutcome, v: JobProgressView | undefined): void {
    if (v) this.update(v);
    // Flush the log buffer and draw the final values before the bars are released.
    this.multi.update();
    this.multi.stop();
    this.target.stream.write(`${closingLine(outcome, v)}\n`);
  }
}

function nodePayload(n: NodeProgress, width: number): BarPayload {
  const phase = n.phase === 'Pulling' ? `Pulling ${n.progress}%` : n.phase;
  return { label: n.node.padEnd(width), suffix: phase, failed: n.phase === 'Failed' };
}

/** Bars on a terminal, lines elsewhere. */
export function makeRenderer(target: RenderTarget): ProgressRenderer {
  if (target.stream.isTTY) return new BarsRenderer(target);
  return new PlainRenderer((line) => target.stream.write(`${line}\n`));
}

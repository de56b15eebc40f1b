/**
 * The container state transitions of built-in runtimes (src/sandbox/cri/builtin-runtime.ts), recorded as they
 * happen: every start (CREATED → RUNNING) and every exit (RUNNING → EXITED) with the container's kubelet labels and
 * image. Polling ListContainers can miss a short window; this record cannot, so invariants such as "one of a
 * hot-upgrade pair always runs a real image" can be checked at every transition.
 *
 * The runtime has no public observer, so this wraps the two private methods every start and every exit go through
 * (`startProcess`, `exitContainer`) on the instances given, and restores them on `stop()`. If the runtime's shape
 * changes the helper throws at once, naming what it missed, rather than recording nothing.
 */
import type { BuiltinRuntime } from '../../src/sandbox/cri/builtin-runtime.js';

export interface ContainerTransition {
  kind: 'started' | 'exited';
  /** `Date.now()` when recorded; transitions are in the order they happened. */
  atMs: number;
  containerId: string;
  /** Kubelet labels `io.kubernetes.pod.uid` and `io.kubernetes.container.name`. */
  podUid: string;
  container: string;
  image: string;
}

/** The fields of the runtime's private container record this helper reads. */
interface RecordView {
  id: string;
  state: string;
  labels: Record<string, string>;
  image: { image: string };
}

type Hooks = {
  startProcess(c: RecordView): void;
  exitContainer(c: RecordView, exitCode: number, atMs: number): void;
};

export interface TransitionRecorder {
  readonly transitions: readonly ContainerTransition[];
  /** Unwraps the runtimes; transitions after this are not recorded. Idempotent. */
  stop(): void;
}

const view = (kind: ContainerTransition['kind'], c: RecordView): ContainerTransition => ({
  kind, atMs: Date.now(), containerId: c.id,
  podUid: c.labels['io.kubernetes.pod.uid'] ?? '', container: c.labels['io.kubernetes.container.name'] ?? '', image: c.image.image,
});

export function recordContainerTransitions(runtimes: readonly BuiltinRuntime[]): TransitionRecorder {
  const transitions: ContainerTransition[] = [];
  const wrapped: Hooks[] = [];
  for (const runtime of runtimes) {
    const rt = runtime as unknown as Hooks;
    const proto = Object.getPrototypeOf(runtime) as Partial<Hooks>;
    if (typeof proto.startProcess !== 'function' || typeof proto.exitContainer !== 'function') {
      throw new Error('BuiltinRuntime has no startProcess/exitContainer any more: update test/support/builtin-container-transitions.ts');
    }
    const startProcess = proto.startProcess;
    const exitContainer = proto.exitContainer;
    rt.startProcess = function (this: Hooks, c: RecordView): void {
      transitions.push(view('started', c));
      startProcess.call(this, c);
    };
    rt.exitContainer = function (this: Hooks, c: RecordView, exitCode: number, atMs: number): void {
      const wasRunning = c.state === 'CONTAINER_RUNNING';
      exitContainer.call(this, c, exitCode, atMs);
      if (wasRunning) transitions.push(view('exited', c));
    };
    wrapped.push(rt);
  }
  let stopped = false;
  return {
    transitions,
    stop: () => {
      if (stopped) return;
      stopped = true;
      for (const rt of wrapped) {
        delete (rt as Partial<Hooks>).startProcess;
        delete (rt as Partial<Hooks>).exitContainer;
      }
    },
  };
}

/**
 * Replays `transitions` over the containers running when recording began (`initial`) and returns, for each exit or
 * start after which a watched pod ran none of `pair` on an image other than `emptyImage`, a description. Pods are
 * watched from the moment one of its pair runs a real image (before that, at creation, nothing is expected to run).
 */
export function pairInvariantViolations(
  initial: readonly Omit<ContainerTransition, 'kind' | 'atMs'>[], transitions: readonly ContainerTransition[],
  podUids: ReadonlySet<string>, pair: readonly string[], emptyImage: string,
): string[] {
  const running = new Map<string, Map<string, { container: string; image: string }>>();
  const watched = new Set<string>();
  const real = (uid: string): boolean => [...(running.get(uid)?.values() ?? [])].some((c) => c.image !== emptyImage);
  const apply = (t: Omit<ContainerTransition, 'atMs'>): void => {
    if (!podUids.has(t.podUid) || !pair.includes(t.container)) return;
    let m = running.get(t.podUid);
    if (m === undefined) running.set(t.podUid, m = new Map());
    if (t.kind === 'started') m.set(t.containerId, { container: t.container, image: t.image });
    else m.delete(t.containerId);
    if (real(t.podUid)) watched.add(t.podUid);
  };
  for (const c of initial) apply({ ...c, kind: 'started' });
  const violations: string[] = [];
  for (const t of transitions) {
    apply(t);
    if (watched.has(t.podUid) && !real(t.podUid)) {
      violations.push(`${t.kind} ${t.container}=${t.image} of pod ${t.podUid} at ${t.atMs}: running ${JSON.stringify([...(running.get(t.podUid)?.values() ?? [])])}`);
    }
  }
  return violations;
}

/** The containers running now in `runtimes`, as `pairInvariantViolations` takes them. */
export async function runningContainers(runtimes: readonly BuiltinRuntime[]): Promise<Omit<ContainerTransition, 'kind' | 'atMs'>[]> {
  const out: Omit<ContainerTransition, 'kind' | 'atMs'>[] = [];
  for (const rt of runtimes) {
    for (const c of (await rt.listContainers({})).containers ?? []) {
      if (c.state !== 'CONTAINER_RUNNING') continue;
      out.push({
        containerId: c.id ?? '', podUid: c.labels?.['io.kubernetes.pod.uid'] ?? '',
        container: c.labels?.['io.kubernetes.container.name'] ?? '', image: c.image?.image ?? '',
      });
    }
  }
  return out;
}

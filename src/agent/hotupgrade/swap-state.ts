/**
 * The hot-upgrade swap as an explicit state machine (spec §7.5 steps 2-4, STYLE habit 10), and its pure planner.
 *
 * The agent of a Pod's node runs one swap per request (`kruise-ts.io/sidecarset-hot-upgrade-request`, written by
 * the coordinator). Its progress is the Pod annotation `kruise-ts.io/sidecarset-hot-upgrade-status` (JSON
 * `SwapStatus`), and every phase names the step that is acted on NEXT; it is written before that step runs, so an
 * agent that restarts (or a reconcile that fails half way) re-reads the Pod and carries on from the recorded
 * phase. Each step is idempotent against the Pod it finds: a switch or reset already in the spec is not redone.
 *
 * | phase         | the next step                                                                     | then          |
 * |---------------|-----------------------------------------------------------------------------------|---------------|
 * | (none)        | pull what the node lacks (a slow pull records Pulling meanwhile), then the switch  | WaitingTarget / Pulling |
 * | Pulling       | pull what the node still lacks, then the switch                                   | WaitingTarget |
 * | Switching     | (written by earlier agents only) the switch                                       | WaitingTarget |
 * | WaitingTarget | the target runs the new image (CRI) and has started, postStart done, Ready (Pod); | WaitingReset / Failed (timeout) |
 * |               | then one Pod update: the other container to the empty image, step 4's versions    |               |
 * | Resetting     | (written by earlier agents only) the reset                                        | WaitingReset  |
 * | WaitingReset  | the other container runs the empty image and has started                          | Succeeded / Failed (timeout) |
 * | Succeeded     | (the request annotation is removed in the same update: "swap done")               | —             |
 * | Failed        | nothing; the old container keeps serving; the next request retargets (rule 2b)   | —             |
 *
 * The switch is one Pod update guarded by resourceVersion carrying the targets (rule 2a-c, picked on the Pod as it
 * is before it), the target images, the working and version annotations and the status WaitingTarget; the reset is
 * one update carrying the empty images, step 4's versions and WaitingReset. Each is atomic, so neither needs a phase
 * of its own recorded before it: a swap whose images are on the node takes three writes (switch, reset, done).
 *
 * A new request (another SidecarSet resourceVersion) supersedes whatever phase the last one reached and starts
 * at Pulling. Invariant (checked by the e2e test): at every moment one of each pair runs a non-empty image — the
 * old container is touched only in Resetting, which acts only while the new one is observed running.
 *
 * Pure: no clock, no I/O; the controller (swap-controller.ts) observes, asks `planSwap`, and executes.
 */
import type { Pod } from '../../api/pod-types.js';
import {
  SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION, SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION,
  encodeWorkingHotUpgradeAnnotation, hotUpgradeContainerNames, parseWorkingHotUpgradeAnnotation,
  pickHotUpgradeTarget, resetVersionAnnotations, switchVersionAnnotations, workingContainer, type HotUpgradeRequest,
} from '../../api/sidecarset-hot-upgrade.js';
import { SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION } from '../../api/well-known-keys.js';

/** Each value names the step acted on next (see the table in the file comment). */
export type SwapPhase = 'Pulling' | 'Switching' | 'WaitingTarget' | 'Resetting' | 'WaitingReset' | 'Succeeded' | 'Failed';

/** `None`: no status for the current request (none at all, or one of an older request). */
export type SwapPhaseOrNone = SwapPhase | 'None';

const ALLOWED: Readonly<Record<SwapPhase, readonly SwapPhaseOrNone[]>> = Object.freeze({
  Pulling: ['None'],
  Switching: ['Pulling'],
  WaitingTarget: ['None', 'Pulling', 'Switching'],
  Resetting: ['WaitingTarget'],
  WaitingReset: ['WaitingTarget', 'Resetting'],
  Succeeded: ['WaitingReset', 'Succeeded'],
  Failed: ['WaitingTarget', 'Resetting', 'WaitingReset'],
});

export function isTerminal(phase: SwapPhaseOrNone): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Called on every attempted move; `accepted` false for an illegal one (which is refused). */
export type TransitionObserver = (from: SwapPhaseOrNone, to: SwapPhase, accepted: boolean) => void;

/**
 * The one gate every phase change goes through (A5 `transitionToState`): `to` is taken only from one of `from`
 * and only if the table allows it; otherwise the move is refused (undefined).
 */
export function transition(
  current: SwapPhaseOrNone, from: readonly SwapPhaseOrNone[], to: SwapPhase, observe?: TransitionObserver,
): SwapPhase | undefined {
  const accepted = from.includes(current) && ALLOWED[to].includes(current);
  observe?.(current, to, accepted);
  return accepted ? to : undefined;
}

/** The status annotation's JSON. Times are RFC 3339 with ms. */
export interface SwapStatus {
  phase: SwapPhase;
  /** The request this status is about: its SidecarSet and resourceVersion. */
  sidecarSet: string;
  resourceVersion: string;
  /** When the request was made (the set's hash entry timestamp, else when the agent first saw it). */
  requestedAt?: string;
  startedAt: string;
  switchedAt?: string;
  targetRunningAt?: string;
  resetAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Sidecar name → the container that receives the new image. */
  target?: Record<string, string>;
  message?: string;
}

const PHASES: readonly string[] = ['Pulling', 'Switching', 'WaitingTarget', 'Resetting', 'WaitingReset', 'Succeeded', 'Failed'];

/** The Pod's swap status; undefined when absent or unparsable (an unparsable one is treated as none). */
export function parseSwapStatus(pod: Pick<Pod, 'metadata'>): SwapStatus | undefined {
  const raw = pod.metadata.annotations?.[SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<SwapStatus> | null;
    if (!v || typeof v !== 'object' || typeof v.phase !== 'string' || !PHASES.includes(v.phase)) return undefined;
    if (typeof v.sidecarSet !== 'string' || typeof v.resourceVersion !== 'string' || typeof v.startedAt !== 'string') return undefined;
    return v as SwapStatus;
  } catch {
    return undefined;
  }
}

export function encodeSwapStatus(s: SwapStatus): string {
  return JSON.stringify(s);
}

/** What the controller observed of one container of a pair. */
export interface ObservedSwapContainer {
  /** The image of its newest runtime container, when that container is running (CRI ContainerStatus). */
  runningImage?: string;
  /** The Pod status of that very container (matched by container ID): started (postStart done) and Ready. */
  started: boolean;
  ready: boolean;
}

export interface SwapInput {
  pod: Pick<Pod, 'metadata' | 'spec' | 'status'>;
  request: HotUpgradeRequest;
  status: SwapStatus | undefined;
  /** By container name (`X-1`, `X-2`); absent: not observed (no runtime container). */
  observed: Readonly<Record<string, ObservedSwapContainer>>;
  now: number;
  /** How long the target may take to run Ready, and the old container to run the empty image. */
  timeoutMs: number;
  /** How often a waiting phase looks again when no Pod event comes. */
  pollMs: number;
  /**
   * Images of the request already on the node (CRI ImageStatus), looked up only when the request is new: when
   * all are there the swap switches at once, without a Pulling step.
   */
  presentImages?: ReadonlySet<string>;
  /** Whether two image references name the same image (the caller normalises them). */
  sameImage: (a: string, b: string) => boolean;
  /** When this swap began, if before `now`: the plan that asked for the pull now being followed up (ms). */
  startedAt?: number;
  /** When the request was made, if known (ms). */
  requestedAt?: number;
  onTransition?: TransitionObserver;
}

export interface SwapEvent {
  type: 'Normal' | 'Warning';
  reason: 'SidecarHotUpgraded' | 'SidecarHotUpgradeFailed' | 'ResetContainerSucceed' | 'ResetContainerFailed';
  message: string;
}

/** One Pod update: images by container, annotations set and removed, always with the new status. */
export interface SwapWrite {
  images: Record<string, string>;
  annotations: Record<string, string>;
  removeAnnotations: string[];
  status: SwapStatus;
  events: SwapEvent[];
  result?: 'succeeded' | 'failed';
}

export type SwapStep =
  | { kind: 'idle'; why: string }
  /**
   * Pull these images, then plan again with them present (and `startedAt` = this plan's `now`): the switch follows,
   * stamped with the time it is written. `whileSlow`, if set, is written when the pull does not end within the
   * controller's poll interval, so a long pull shows as Pulling; the next reconcile joins the same pull.
   */
  | { kind: 'pull'; images: string[]; whileSlow?: SwapWrite }
  | { kind: 'write'; write: SwapWrite }
  | { kind: 'wait'; requeueAfterMs: number; why: string };

const iso = (ms: number): string => new Date(ms).toISOString();

function specImage(pod: Pick<Pod, 'spec'>, name: string): string | undefined {
  return pod.spec.containers.find((c) => c.name === name)?.image;
}

function statusWrite(status: SwapStatus, extra: Partial<Omit<SwapWrite, 'status'>> = {}): SwapWrite {
  return { images: {}, annotations: {}, removeAnnotations: [], events: [], ...extra, status };
}

/** The sidecars of the request whose pair exists in the Pod (the others have nothing to swap). */
function swappable(input: SwapInput): HotUpgradeRequest['sidecars'] {
  return input.request.sidecars.filter((s) => hotUpgradeContainerNames(s.name).every((n) => specImage(input.pod, n) !== undefined));
}

/**
 * Ready-and-consistent in the agent's eyes (for rule 2b): the runtime runs the spec image and the Pod status says
 * that container is Ready.
 */
function readyAndConsistent(input: SwapInput, name: string): boolean {
  const o = input.observed[name];
  const image = specImage(input.pod, name);
  return o !== undefined && o.ready && o.runningImage !== undefined && image !== undefined && input.sameImage(o.runningImage, image);
}

function runs(input: SwapInput, name: string, image: string, mustBeReady: boolean): boolean {
  const o = input.observed[name];
  return o !== undefined && o.runningImage !== undefined && input.sameImage(o.runningImage, image) && o.started && (!mustBeReady || o.ready);
}

/** The next step of the Pod's swap. */
export function planSwap(input: SwapInput): SwapStep {
  const { request, now } = input;
  const current = input.status !== undefined
    && input.status.sidecarSet === request.sidecarSet && input.status.resourceVersion === request.resourceVersion
    ? input.status : undefined;
  const phase: SwapPhaseOrNone = current?.phase ?? 'None';
  const move = (from: readonly SwapPhaseOrNone[], to: SwapPhase, fields: Partial<SwapStatus>, quiet = false): SwapStatus | undefined => {
    const next = transition(phase, from, to, quiet ? undefined : input.onTransition);
    if (next === undefined) return undefined;
    return { ...(current ?? { sidecarSet: request.sidecarSet, resourceVersion: request.resourceVersion, startedAt: iso(now) }), ...fields, phase: next };
  };
  const refused: SwapStep = { kind: 'idle', why: `illegal transition from ${phase}` };
  const sidecars = swappable(input);

  /** Targets (rule 2a-c) on the Pod as it is before the switch; main's rule: none when working has the image. */
  const pickTargets = (): Record<string, string> => {
    const target: Record<string, string> = {};
    for (const sc of sidecars) {
      const { working } = workingContainer(input.pod, sc.name);
      if (input.sameImage(specImage(input.pod, working) ?? '', sc.image)) continue;
      target[sc.name] = pickHotUpgradeTarget(input.pod, sc.name, sc.emptyImage, (n) => readyAndConsistent(input, n)).target;
    }
    return target;
  };
  const imagesFor = (target: Record<string, string>): string[] =>
    [...new Set(sidecars.flatMap((sc) => (target[sc.name] !== undefined ? [sc.image, sc.emptyImage] : [sc.emptyImage])))]
      .filter((i) => i !== '');
  /** The switch: target images, working and version annotations, WaitingTarget, in one update. */
  const switchStep = (target: Record<string, string>, fields: Partial<SwapStatus>): SwapStep => {
    const images: Record<string, string> = {};
    const annotations: Record<string, string> = {};
    const working = parseWorkingHotUpgradeAnnotation(input.pod);
    let changed = false;
    for (const sc of sidecars) {
      const t = target[sc.name];
      if (t === undefined) continue;
      const [n1, n2] = hotUpgradeContainerNames(sc.name);
      const other = t === n1 ? n2 : n1;
      // Already switched (an earlier attempt's update landed before a restart): not redone.
      if (specImage(input.pod, t) === sc.image && workingContainer(input.pod, sc.name).working === t) continue;
      images[t] = sc.image;
      working[sc.name] = t;
      Object.assign(annotations, switchVersionAnnotations(input.pod, t, other, request.resourceVersion));
      changed = true;
    }
    if (changed) annotations[SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION] = encodeWorkingHotUpgradeAnnotation(working);
    const s = move([phase], 'WaitingTarget', { ...fields, target, switchedAt: iso(now) });
    return s ? { kind: 'write', write: statusWrite(s, { images, annotations }) } : refused;
  };
  /** The reset, once every working container is seen running its image (the invariant); else wait or fail. */
  const resetStep = (since: number, fields: Partial<SwapStatus>): SwapStep => {
    const notRunning = sidecars.filter((sc) => {
      const { working } = workingContainer(input.pod, sc.name);
      return !runs(input, working, specImage(input.pod, working) ?? '', false);
    });
    if (notRunning.length > 0) {
      if (now - since >= input.timeoutMs) {
        const message = `reset failed: ${notRunning.map((sc) => workingContainer(input.pod, sc.name).working).join(', ')} stopped running; the old container is kept`;
        const s = move([phase], 'Failed', { finishedAt: iso(now), durationMs: now - Date.parse(current!.startedAt), message });
        return s ? { kind: 'write', write: statusWrite(s, { result: 'failed', events: [{ type: 'Warning', reason: 'ResetContainerFailed', message }] }) } : refused;
      }
      return { kind: 'wait', requeueAfterMs: input.pollMs, why: 'working container not running; reset held back' };
    }
    const images: Record<string, string> = {};
    const annotations: Record<string, string> = {};
    for (const sc of sidecars) {
      const { working, other } = workingContainer(input.pod, sc.name);
      if (specImage(input.pod, other) === sc.emptyImage) continue;
      images[other] = sc.emptyImage;
      Object.assign(annotations, resetVersionAnnotations(working, other));
    }
    const s = move([phase], 'WaitingReset', { ...fields, resetAt: iso(now) });
    return s ? { kind: 'write', write: statusWrite(s, { images, annotations }) } : refused;
  };

  switch (phase) {
    case 'None':
    case 'Pulling': {
      // Targets are picked now, on the Pod as it is before the switch, and written with it.
      const fields: Partial<SwapStatus> = phase === 'Pulling' ? {} : {
        startedAt: iso(input.startedAt ?? now), ...(input.requestedAt !== undefined ? { requestedAt: iso(input.requestedAt) } : {}),
      };
      const target = pickTargets();
      const present = input.presentImages ?? new Set<string>();
      const missing = imagesFor(target).filter((i) => !present.has(i));
      if (missing.length === 0) return switchStep(target, fields);
      if (phase === 'Pulling') return { kind: 'pull', images: missing };
      // Only written if the pull is slow, so not reported as a transition here.
      const pulling = move(['None'], 'Pulling', fields, true);
      return pulling ? { kind: 'pull', images: missing, whileSlow: statusWrite(pulling) } : refused;
    }
    case 'Switching':
      return switchStep(current?.target ?? {}, {});
    case 'WaitingTarget': {
      const target = current?.target ?? {};
      const pending = sidecars.filter((sc) => target[sc.name] !== undefined && !runs(input, target[sc.name]!, sc.image, true));
      const since = Date.parse(current?.switchedAt ?? current?.startedAt ?? iso(now));
      if (pending.length === 0) return resetStep(since, { targetRunningAt: iso(now) });
      if (now - since >= input.timeoutMs) {
        const names = pending.map((sc) => `${target[sc.name]!} (${sc.image})`).join(', ');
        const message = `hot upgrade failed: ${names} did not run Ready within ${Math.round(input.timeoutMs / 1000)}s; the old container keeps serving`;
        const s = move(['WaitingTarget'], 'Failed', { finishedAt: iso(now), durationMs: now - Date.parse(current!.startedAt), message });
        return s ? {
          kind: 'write',
          write: statusWrite(s, { result: 'failed', events: [{ type: 'Warning', reason: 'SidecarHotUpgradeFailed', message }] }),
        } : refused;
      }
      return { kind: 'wait', requeueAfterMs: Math.min(input.pollMs, input.timeoutMs - (now - since)), why: 'target not running Ready yet' };
    }
    case 'Resetting':
      return resetStep(Date.parse(current?.targetRunningAt ?? iso(now)), {});
    case 'WaitingReset': {
      const pending = sidecars.filter((sc) => !runs(input, workingContainer(input.pod, sc.name).other, sc.emptyImage, false));
      const started = Date.parse(current!.startedAt);
      if (pending.length === 0) {
        const switched = Object.entries(current?.target ?? {}).map(([n, t]) => `${n}→${t}`).join(', ');
        const message = switched === '' ? 'nothing to switch; old containers reset' : `hot upgrade done: ${switched}`;
        const s = move(['WaitingReset'], 'Succeeded', { finishedAt: iso(now), durationMs: now - started, message });
        const resetNames = sidecars.map((sc) => workingContainer(input.pod, sc.name).other).join(', ');
        return s ? {
          kind: 'write',
          write: statusWrite(s, {
            removeAnnotations: [SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION],
            result: 'succeeded',
            events: [
              { type: 'Normal', reason: 'SidecarHotUpgraded', message: `${message} (${((now - started) / 1000).toFixed(1)}s)` },
              { type: 'Normal', reason: 'ResetContainerSucceed', message: `reset sidecar container image empty successfully: ${resetNames}` },
            ],
          }),
        } : refused;
      }
      const since = Date.parse(current?.resetAt ?? iso(now));
      if (now - since >= input.timeoutMs) {
        const message = `reset failed: ${pending.map((sc) => workingContainer(input.pod, sc.name).other).join(', ')} did not run the empty image within ${Math.round(input.timeoutMs / 1000)}s`;
        const s = move(['WaitingReset'], 'Failed', { finishedAt: iso(now), durationMs: now - started, message });
        return s ? { kind: 'write', write: statusWrite(s, { result: 'failed', events: [{ type: 'Warning', reason: 'ResetContainerFailed', message }] }) } : refused;
      }
      return { kind: 'wait', requeueAfterMs: Math.min(input.pollMs, input.timeoutMs - (now - since)), why: 'old container not on the empty image yet' };
    }
    case 'Succeeded':
      // Only when a write removed the status' request but not the annotation (a hand edit): finish it again.
      return { kind: 'write', write: statusWrite(current!, { removeAnnotations: [SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION] }) };
    case 'Failed':
      return { kind: 'idle', why: 'the swap failed; waiting for a new request' };
  }
}

/** Applies a write to a copy of the Pod (the controller sends it as one update guarded by resourceVersion). */
export function applySwapWrite<P extends Pick<Pod, 'metadata' | 'spec'>>(pod: P, w: SwapWrite): P {
  const out = structuredClone(pod);
  for (const c of out.spec.containers) {
    const image = w.images[c.name];
    if (image !== undefined) c.image = image;
  }
  const annotations: Record<string, string> = { ...out.metadata.annotations, ...w.annotations };
  for (const k of w.removeAnnotations) delete annotations[k];
  annotations[SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION] = encodeSwapStatus(w.status);
  out.metadata.annotations = annotations;
  return out;
}

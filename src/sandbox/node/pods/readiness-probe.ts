/**
 * Readiness of one container from its exec probe results, as kubelet's prober worker keeps it: the result starts as
 * failure (not ready), flips to success after `successThreshold` consecutive successes and back after
 * `failureThreshold` consecutive failures; nothing runs before `initialDelaySeconds`, then every `periodSeconds`.
 * Pure: the worker runs the probe and feeds the outcome in.
 */
import type { Probe } from '../../../api/pod-types.js';

/** The probe of a container, with Kubernetes' defaults applied (`SetDefaults_Probe`). */
export interface CompiledProbe {
  readonly command: readonly string[];
  readonly initialDelayMs: number;
  readonly timeoutSeconds: number;
  readonly periodMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** What is known of one container's readiness probing. Keyed by container id: a new container starts afresh. */
export interface ProbeState {
  readonly ready: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  /** Epoch ms of the last probe run, if any. */
  readonly lastProbeMs?: number;
}

export const INITIAL_PROBE_STATE: ProbeState = Object.freeze({ ready: false, consecutiveSuccesses: 0, consecutiveFailures: 0 });

/**
 * The exec probe of `probe`, or `undefined` when the container has none. httpGet and tcpSocket probes cannot be run
 * against the built-in runtime's processes (there is no network endpoint behind them), so they are `undefined` too and
 * the container counts as ready once started; a known gap, written here where it lives.
 */
export function compileProbe(probe: Probe | undefined): CompiledProbe | undefined {
  const command = probe?.exec?.command;
  if (probe === undefined || command === undefined || command.length === 0) return undefined;
  const positive = (v: number | undefined, d: number) => (v !== undefined && v > 0 ? v : d);
  return {
    command,
    initialDelayMs: Math.max(0, probe.initialDelaySeconds ?? 0) * 1000,
    timeoutSeconds: positive(probe.timeoutSeconds, 1),
    periodMs: positive(probe.periodSeconds, 10) * 1000,
    successThreshold: positive(probe.successThreshold, 1),
    failureThreshold: positive(probe.failureThreshold, 3),
  };
}

/** Epoch ms when the next probe is due for a container that started at `startedAtMs`. */
export function nextProbeDueMs(probe: CompiledProbe, state: ProbeState, startedAtMs: number): number {
  const first = startedAtMs + probe.initialDelayMs;
  return state.lastProbeMs === undefined ? first : Math.max(first, state.lastProbeMs + probe.periodMs);
}

/** The state after one probe outcome at `nowMs`. */
export function recordProbeResult(probe: CompiledProbe, state: ProbeState, success: boolean, nowMs: number): ProbeState {
  if (success) {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    return {
      ready: state.ready || consecutiveSuccesses >= probe.successThreshold,
      consecutiveSuccesses, consecutiveFailures: 0, lastProbeMs: nowMs,
    };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  return {
    ready: state.ready && consecutiveFailures < probe.failureThreshold,
    consecutiveSuccesses: 0, consecutiveFailures, lastProbeMs: nowMs,
  };
}

/**
 * The pod planner of an emulated node: kubelet's `computePodActions` and `generateAPIPodStatus` in one pure function.
 * Given a pod, what the runtime holds for it, what the worker remembers (hooks, probes, pulls, back-offs, the reason of
 * the last failed start) and `now`, it returns the actions to take next and the status the pod has now.
 *
 * A plan holds only actions that can be taken at once; the worker executes them and plans again, so a pod goes
 * sandbox → pulls → create+start → postStart → ... over several plans, each from fresh runtime state (level-based:
 * a lost event or a restarted worker re-plans from what is there). Rules, as kubelet 1.22 applies them:
 *
 * - Init containers run one at a time, in order, each to a successful exit; app containers wait (`PodInitializing`).
 * - App containers start in spec order. A container with a postStart hook holds back the ones after it until the hook
 *   returned (kubelet starts containers sequentially and the hook runs inside the start; Istio's
 *   holdApplicationUntilProxyStarts relies on it). It counts as started, and is shown running, only then; a failing
 *   hook kills it (`FailedPostStartHook`) and it restarts by policy, with back-off.
 * - Restarts follow `restartPolicy` with kubelet's back-off per container and image: the first restart is immediate,
 *   then 10 s doubling to 300 s, measured from the death of the container (`CrashLoopBackOff`).
 * - Images are pulled by `imagePullPolicy` (Always: before every start; IfNotPresent; Never), with a back-off per
 *   image after a failure (`ErrImagePull`, then `ImagePullBackOff`).
 * - A running container whose spec image changed is killed with "Container x definition changed, will be
 *   restarted" and started again, whatever the restart policy and without back-off: restartCount + 1, new imageID.
 * - A pod with a deletionTimestamp: every running container is stopped (preStop first) within what is left of the
 *   grace period (at least 2 s, kubelet's minimum), then its sandboxes are removed, then the pod object is deleted.
 *   A pod gone from the API (`podGone`) is stopped at once and nothing is written.
 * - Waiting reasons follow kubelet's reason cache: a back-off decided in this plan shows in the status of the next
 *   one (`retrySoon`), so `ErrImagePull` is visible before `ImagePullBackOff`, as on a real node.
 * - kubelet writes the API status only at the start of a syncPod, from the PLEG snapshot, and then kills, pulls,
 *   creates, starts and runs the postStart of a container inside that one sync. Our worker takes those steps over
 *   several plans, so while a container's (re)start is in flight (`startInFlight`) its status stays the one already
 *   published: an in-place restart of a probe-less container is never shown not-ready, and the new container
 *   appears, running and ready (the prober marks a probe-less container ready), restartCount + 1, only once its
 *   hook returned. A container with a readiness probe then shows not-ready until the probe passes.
 *
 * Imports nothing from kube/ or cri/ and reads no clock (STYLE habit 1).
 */
import type { Condition } from '../../../api/meta.js';
import type { Container, ContainerState, ContainerStatus, Pod, PodStatus, PullPolicy } from '../../../api/pod-types.js';
import { imageTag } from '../../../api/defaults/pod-defaults.js';
import {
  backoffRemainingSince, backoffRemainingSinceUpdate, formatGoDuration, nextBackoff, type BackoffConfig, type BackoffEntry,
} from './backoff.js';
import { kubeletConditions, podPhase, qosClass, rfc3339, withTransitionTimes } from './pod-status.js';
import { compileProbe, INITIAL_PROBE_STATE, nextProbeDueMs, type ProbeState } from './readiness-probe.js';

// ---- What the planner observes ----

/** CRI container states, shortened. `created` never ran (or failed to start) and counts as dead, as in kubelet. */
export type ObservedContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** One container of the pod as the runtime reports it (one per start attempt). */
export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  /** CRI metadata attempt: kubelet's restart count of the container. */
  readonly attempt: number;
  readonly state: ObservedContainerState;
  readonly createdAtMs: number;
  /** 0 when it never ran. */
  readonly startedAtMs: number;
  /** 0 while it has not exited. */
  readonly finishedAtMs: number;
  readonly exitCode: number;
  /** The runtime's reason (`Completed`, `Error`, `StartError`); may be empty. */
  readonly reason: string;
  readonly message: string;
  /** The pod spec image it was created for (kept in a container annotation). */
  readonly specImage: string;
  /** The runtime's repo digest of its image (`docker.io/library/busybox@sha256:...`): the status `imageID`. */
  readonly imageRef: string;
}

export interface ObservedSandbox {
  readonly id: string;
  readonly attempt: number;
  readonly ready: boolean;
}

/** What the runtime holds for one pod. */
export interface RuntimePodView {
  readonly sandboxes: readonly ObservedSandbox[];
  /** Containers of every sandbox of the pod, any order. */
  readonly containers: readonly ObservedContainer[];
  /** Spec images of the pod that are present on the node. */
  readonly presentImages: ReadonlySet<string>;
}

/** Progress of a postStart hook, by container id. `pending`: the container started, the hook has not run yet. */
export type HookState =
  | { readonly phase: 'pending' | 'running' | 'succeeded' }
  | { readonly phase: 'failed'; readonly message: string };

/** Why the last start of a container failed: kubelet's reason cache, shown as the waiting reason. */
export interface StartFailure {
  readonly reason: string;
  readonly message: string;
}

/** What the pod's worker remembers beyond what the runtime reports (kubelet keeps the same in memory). */
export interface PodMemory {
  readonly hooks: ReadonlyMap<string, HookState>;
  /** Readiness probe state by container id. */
  readonly probes: ReadonlyMap<string, ProbeState>;
  /** Images pulled for the next start of a container, by container name (consumed by that start). */
  readonly pulled: ReadonlyMap<string, { readonly image: string }>;
  /** By container name. */
  readonly reasons: ReadonlyMap<string, StartFailure>;
  /** Restart back-off by `containerBackoffKey`. */
  readonly containerBackoffs: ReadonlyMap<string, BackoffEntry>;
  /** Pull back-off by image. */
  readonly imageBackoffs: ReadonlyMap<string, BackoffEntry>;
  /** Images being pulled for this pod now. */
  readonly pulling: ReadonlySet<string>;
  /** Container ids being stopped now. */
  readonly killing: ReadonlySet<string>;
  /** Container ids killed to be started again whatever the restart policy (definition changed). */
  readonly restartAfterKill: ReadonlySet<string>;
}

export function emptyPodMemory(): PodMemory {
  return {
    hooks: new Map(), probes: new Map(), pulled: new Map(), reasons: new Map(), containerBackoffs: new Map(),
    imageBackoffs: new Map(), pulling: new Set(), killing: new Set(), restartAfterKill: new Set(),
  };
}

export interface PlannerConfig {
  readonly containerBackoff: BackoffConfig;
  readonly imageBackoff: BackoffConfig;
  /** kubelet's `minimumGracePeriodInSeconds`. @default 2 */
  readonly minimumGracePeriodSeconds: number;
}

export interface PodSyncInput {
  /** The pod as last observed; when `podGone`, as last seen before it went. */
  readonly pod: Pod;
  /** The pod object is gone from the API: stop everything at once, write nothing. */
  readonly podGone: boolean;
  readonly runtime: RuntimePodView;
  readonly memory: PodMemory;
  readonly node: { readonly ip: string; readonly runtimeName: string };
  readonly config: PlannerConfig;
  /** Epoch ms. */
  readonly now: number;
}

// ---- What the planner decides ----

export type PodAction =
  | { readonly type: 'ensureSandbox'; readonly attempt: number }
  | { readonly type: 'pullImage'; readonly container: string; readonly image: string; readonly policy: PullPolicy }
  | {
    readonly type: 'createAndStart'; readonly container: string; readonly init: boolean; readonly attempt: number;
    readonly image: string; readonly sandboxId: string;
    /** No pull preceded this start: kubelet's "Container image ... already present on machine". */
    readonly imageAlreadyPresent: boolean;
  }
  | { readonly type: 'runPostStart'; readonly container: string; readonly containerId: string; readonly command: readonly string[] }
  | {
    readonly type: 'probe'; readonly container: string; readonly containerId: string; readonly command: readonly string[];
    readonly timeoutSeconds: number;
  }
  | {
    readonly type: 'kill'; readonly container: string; readonly containerId: string;
    /** The Killing event's message. */
    readonly reason: string;
    readonly gracePeriodSeconds: number;
    readonly preStop?: readonly string[];
    /** Start it again whatever the restart policy (definition changed). */
    readonly restartAfter: boolean;
  }
  | { readonly type: 'stopSandbox'; readonly sandboxId: string }
  | { readonly type: 'removeSandbox'; readonly sandboxId: string }
  | { readonly type: 'deletePodObject'; readonly uid: string };

export type PodActionType = PodAction['type'];

/**
 * Where the pod is in its life on this node (the worker's state):
 * - `syncing`: the pod should run; containers are brought to the spec;
 * - `terminating`: deletion requested (or the pod is gone): stopping containers, removing sandboxes;
 * - `terminated`: nothing runs and no sandbox is left; the pod object is being deleted;
 * - `finished`: nothing is left of the pod here.
 */
export type PodLifecycle = 'syncing' | 'terminating' | 'terminated' | 'finished';

export interface PlannedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface PodSyncPlan {
  readonly lifecycle: PodLifecycle;
  readonly actions: PodAction[];
  /** The node-owned status fields; `undefined` when nothing is to be written. Conditions: the four kubelet types. */
  readonly status: PodStatus | undefined;
  /** Reason cache changes by container name (`null` clears). */
  readonly reasons: ReadonlyMap<string, StartFailure | null>;
  /** Restart back-off entries to store. */
  readonly containerBackoffs: ReadonlyMap<string, BackoffEntry>;
  /** Events of decisions made here (back-offs); action outcomes are recorded by the executor. */
  readonly events: PlannedEvent[];
  /** When the pod needs looking at again even if nothing happens (probe due, back-off over). */
  readonly requeueAfterMs: number | undefined;
  /** The reason cache changed: the next status differs, plan again soon. */
  readonly retrySoon: boolean;
}

// ---- Helpers ----

/** Kubernetes' default pull policy: Always for `:latest` or no tag, IfNotPresent otherwise. */
export function pullPolicyOf(c: Container): PullPolicy {
  if (c.imagePullPolicy !== undefined) return c.imagePullPolicy;
  return imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
}

/** kubelet's back-off key is the container name and spec hash; the image is the only part of a pod spec that changes. */
export function containerBackoffKey(c: Pick<Container, 'name' | 'image'>): string {
  return `${c.name}@${c.image ?? ''}`;
}

/** kubelet's `format.Pod`: `name_namespace(uid)`. */
export function podDescription(pod: Pod): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
}

function execCommand(h: { exec?: { command?: string[] } } | undefined): string[] | undefined {
  const cmd = h?.exec?.command;
  return cmd !== undefined && cmd.length > 0 ? cmd : undefined;
}

/** Newest attempt first. */
function groupByName(containers: readonly ObservedContainer[]): Map<string, ObservedContainer[]> {
  const m = new Map<string, ObservedContainer[]>();
  for (const c of containers) {
    const list = m.get(c.name);
    if (list === undefined) m.set(c.name, [c]);
    else list.push(c);
  }
  for (const list of m.values()) list.sort((a, b) => b.attempt - a.attempt || b.createdAtMs - a.createdAtMs);
  return m;
}

function deathTime(c: ObservedContainer): number {
  return c.finishedAtMs > 0 ? c.finishedAtMs : c.createdAtMs;
}

/** kubelet `ShouldContainerBeRestarted` for a dead container of a pod that is not terminating. */
function policyRestarts(policy: string, c: ObservedContainer): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return !(c.state === 'exited' && c.exitCode === 0);
  return true;
}

function terminatedState(c: ObservedContainer, runtimeName: string): ContainerState {
  const reason = c.reason !== '' ? c.reason : c.exitCode === 0 ? 'Completed' : 'Error';
  const started = c.startedAtMs > 0 ? c.startedAtMs : c.createdAtMs;
  return {
    terminated: {
      exitCode: c.exitCode, reason,
      ...(c.message === '' ? {} : { message: c.message }),
      startedAt: rfc3339(started),
      finishedAt: rfc3339(c.finishedAtMs > 0 ? c.finishedAtMs : started),
      containerID: `${runtimeName}://${c.id}`,
    },
  };
}

// ---- The planner ----

class Plan {
  readonly actions: PodAction[] = [];
  readonly reasons = new Map<string, StartFailure | null>();
  readonly containerBackoffs = new Map<string, BackoffEntry>();
  readonly events: PlannedEvent[] = [];
  requeueAfterMs: number | undefined;
  retrySoon = false;

  constructor(private readonly memory: PodMemory) {}

  requeue(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    if (this.requeueAfterMs === undefined || v < this.requeueAfterMs) this.requeueAfterMs = v;
  }

  /** Sets the reason cache entry of a container; a change shows in the next plan's status. */
  reason(container: string, failure: StartFailure): void {
    const before = this.memory.reasons.get(container);
    this.reasons.set(container, failure);
    if (before?.reason !== failure.reason || before.message !== failure.message) this.retrySoon = true;
  }
}

interface Ctx {
  readonly input: PodSyncInput;
  readonly plan: Plan;
  readonly byName: Map<string, ObservedContainer[]>;
  readonly policy: string;
}

export function planPodSync(input: PodSyncInput): PodSyncPlan {
  const plan = new Plan(input.memory);
  const ctx: Ctx = {
    input, plan, byName: groupByName(input.runtime.containers), policy: input.pod.spec.restartPolicy ?? 'Always',
  };
  const terminating = input.podGone || input.pod.metadata.deletionTimestamp !== undefined;
  const done = (lifecycle: PodLifecycle, status: PodStatus | undefined): PodSyncPlan => ({
    lifecycle, actions: plan.actions, status, reasons: plan.reasons, containerBackoffs: plan.containerBackoffs,
    events: plan.events, requeueAfterMs: plan.requeueAfterMs, retrySoon: plan.retrySoon,
  });
  if (terminating) return planTermination(ctx, done);

  const { pod, runtime, memory } = input;
  const existingPhase = pod.status?.phase;
  const terminal = existingPhase === 'Succeeded' || existingPhase === 'Failed';
  const sandbox = [...runtime.sandboxes].sort((a, b) => b.attempt - a.attempt)[0];

  if (terminal) {
    // kubelet stops what is left of a finished pod and keeps its dead containers for the status.
    for (const c of runtime.containers) {
      if (c.state === 'running' && !memory.killing.has(c.id)) plan.actions.push(killAction(ctx, c, 'Stopping container ' + c.name, 0, false));
    }
    if (sandbox?.ready === true && !runtime.containers.some((c) => c.state === 'running')) {
      plan.actions.push({ type: 'stopSandbox', sandboxId: sandbox.id });
    }
    return done('syncing', buildStatus(ctx, { restarts: false }));
  }

  if (sandbox === undefined || !sandbox.ready) {
    plan.actions.push({ type: 'ensureSandbox', attempt: sandbox === undefined ? 0 : sandbox.attempt + 1 });
    return done('syncing', buildStatus(ctx, { restarts: true }));
  }

  // Init containers, one at a time.
  let initDone = true;
  for (const c of pod.spec.initContainers ?? []) {
    const latest = ctx.byName.get(c.name)?.[0];
    if (latest !== undefined && latest.state === 'exited' && latest.exitCode === 0) continue;
    initDone = false;
    if (latest?.state === 'running') break;
    if (latest !== undefined && ctx.policy === 'Never') break; // failed for good: the pod fails
    startContainer(ctx, c, latest, true, sandbox.id);
    break;
  }

  if (initDone) {
    let blocked = false;
    for (const c of pod.spec.containers) {
      const latest = ctx.byName.get(c.name)?.[0];
      if (latest?.state === 'running') {
        if (memory.killing.has(latest.id)) continue;
        if (latest.specImage !== (c.image ?? '')) {
          plan.actions.push(killAction(ctx, latest, `Container ${c.name} definition changed, will be restarted`, terminationGrace(ctx), true));
          continue;
        }
        const hook = memory.hooks.get(latest.id);
        const hookCommand = execCommand(c.lifecycle?.postStart);
        if (hook?.phase === 'failed') {
          plan.actions.push(killAction(ctx, latest, 'FailedPostStartHook', terminationGrace(ctx), false));
          continue;
        }
        if (hook?.phase === 'pending' && hookCommand !== undefined) {
          plan.actions.push({ type: 'runPostStart', container: c.name, containerId: latest.id, command: hookCommand });
          blocked = true;
          continue;
        }
        if (hook?.phase === 'pending' || hook?.phase === 'running') {
          blocked = true;
          continue;
        }
        const probe = compileProbe(c.readinessProbe);
        if (probe !== undefined) {
          const state = memory.probes.get(latest.id) ?? INITIAL_PROBE_STATE;
          const due = nextProbeDueMs(probe, state, latest.startedAtMs);
          if (due <= input.now) {
            plan.actions.push({ type: 'probe', container: c.name, containerId: latest.id, command: probe.command, timeoutSeconds: probe.timeoutSeconds });
            plan.requeue(probe.periodMs);
          } else plan.requeue(due - input.now);
        }
        continue;
      }
      const restart = latest === undefined || memory.restartAfterKill.has(latest.id) || policyRestarts(ctx.policy, latest);
      if (!restart || blocked) continue;
      const starting = startContainer(ctx, c, latest, false, sandbox.id);
      if (starting && execCommand(c.lifecycle?.postStart) !== undefined) blocked = true;
    }
  }
  return done('syncing', buildStatus(ctx, { restarts: true }));
}

function terminationGrace(ctx: Ctx): number {
  return Math.max(0, ctx.input.pod.spec.terminationGracePeriodSeconds ?? 30);
}

function killAction(ctx: Ctx, c: ObservedContainer, reason: string, graceSeconds: number, restartAfter: boolean): PodAction {
  const spec = [...(ctx.input.pod.spec.initContainers ?? []), ...ctx.input.pod.spec.containers].find((x) => x.name === c.name);
  const preStop = ctx.input.podGone ? undefined : execCommand(spec?.lifecycle?.preStop);
  return {
    type: 'kill', container: c.name, containerId: c.id, reason, gracePeriodSeconds: graceSeconds, restartAfter,
    ...(preStop === undefined ? {} : { preStop }),
  };
}

/**
 * Takes the next step towards starting `c`: back-off check, pull, or create+start. Returns whether a start is under
 * way (a pull or a create was planned or is running), which holds back the containers after one with a postStart.
 */
function startContainer(ctx: Ctx, c: Container, latest: ObservedContainer | undefined, init: boolean, sandboxId: string): boolean {
  const { input, plan } = ctx;
  const { memory, now, config } = input;
  const restartAfterKill = latest !== undefined && memory.restartAfterKill.has(latest.id);
  const key = containerBackoffKey(c);
  const entry = memory.containerBackoffs.get(key);
  if (latest !== undefined && !restartAfterKill) {
    const remaining = backoffRemainingSince(entry, deathTime(latest), now, config.containerBackoff);
    if (remaining > 0) {
      plan.reason(c.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatGoDuration(entry?.backoffMs ?? 0)} restarting failed container=${c.name} pod=${podDescription(input.pod)}`,
      });
      plan.events.push({ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container' });
      plan.requeue(remaining);
      return false;
    }
  }
  const image = c.image ?? '';
  const policy = pullPolicyOf(c);
  const fresh = memory.pulled.get(c.name)?.image === image;
  const present = input.runtime.presentImages.has(image);
  if (policy === 'Never' && !present && !fresh) {
    const message = `Container image "${image}" is not present with pull policy of Never`;
    plan.reason(c.name, { reason: 'ErrImageNeverPull', message });
    plan.events.push({ type: 'Warning', reason: 'ErrImageNeverPull', message });
    return false;
  }
  const needPull = policy === 'Always' ? !fresh : !(present || fresh);
  if (needPull) {
    if (memory.pulling.has(image)) return true;
    const remaining = backoffRemainingSinceUpdate(memory.imageBackoffs.get(image), now, config.imageBackoff);
    if (remaining > 0) {
      const message = `Back-off pulling image "${image}"`;
      plan.reason(c.name, { reason: 'ImagePullBackOff', message });
      plan.events.push({ type: 'Normal', reason: 'BackOff', message });
      plan.events.push({ type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' });
      plan.requeue(remaining);
      return false;
    }
    plan.actions.push({ type: 'pullImage', container: c.name, image, policy });
    return true;
  }
  plan.actions.push({
    type: 'createAndStart', container: c.name, init, attempt: latest === undefined ? 0 : latest.attempt + 1, image, sandboxId,
    imageAlreadyPresent: !fresh,
  });
  if (latest !== undefined && !restartAfterKill) {
    plan.containerBackoffs.set(key, nextBackoff(entry, deathTime(latest), now, config.containerBackoff));
  }
  return true;
}

function planTermination(ctx: Ctx, done: (l: PodLifecycle, s: PodStatus | undefined) => PodSyncPlan): PodSyncPlan {
  const { input, plan } = ctx;
  const { pod, runtime, memory, now, config } = input;
  let grace = 0;
  if (!input.podGone) {
    const deadline = Date.parse(pod.metadata.deletionTimestamp ?? '');
    const remaining = Number.isFinite(deadline) ? Math.ceil((deadline - now) / 1000) : terminationGrace(ctx);
    grace = Math.max(config.minimumGracePeriodSeconds, remaining);
  }
  const running = runtime.containers.filter((c) => c.state === 'running');
  for (const c of running) {
    if (!memory.killing.has(c.id)) plan.actions.push(killAction(ctx, c, `Stopping container ${c.name}`, grace, false));
  }
  const status = input.podGone ? undefined : buildStatus(ctx, { restarts: false });
  if (running.length > 0 || memory.killing.size > 0) {
    // Kills report back when done; this is only a safety net past the grace period.
    plan.requeue((grace + 1) * 1000);
    return done('terminating', status);
  }
  if (runtime.sandboxes.length > 0) {
    for (const s of runtime.sandboxes) plan.actions.push({ type: 'removeSandbox', sandboxId: s.id });
    return done('terminating', status);
  }
  if (input.podGone) return done('finished', undefined);
  plan.actions.push({ type: 'deletePodObject', uid: pod.metadata.uid ?? '' });
  return done('terminated', undefined);
}

// ---- Status ----

/**
 * Whether `latest` is inside a start kubelet would still be running in one syncPod: a kill that restarts it is under
 * way, or it died of that kill and its start (pull, create, start) has not failed, or its postStart hook has not
 * returned. A failed step leaves a reason in the cache, which ends the sync and shows (`ErrImagePull`, ...).
 */
function startInFlight(memory: PodMemory, latest: ObservedContainer): boolean {
  if (latest.state === 'running') {
    if (memory.killing.has(latest.id) && memory.restartAfterKill.has(latest.id)) return true;
    const hook = memory.hooks.get(latest.id);
    return hook?.phase === 'pending' || hook?.phase === 'running';
  }
  return memory.restartAfterKill.has(latest.id) && !memory.reasons.has(latest.name);
}

function buildStatus(ctx: Ctx, o: { restarts: boolean }): PodStatus {
  const { input } = ctx;
  const { pod, now, node, memory } = input;
  const spec = pod.spec;
  const hasInit = (spec.initContainers ?? []).length > 0;
  const defaultWaiting = hasInit ? 'PodInitializing' : 'ContainerCreating';
  const statusOf = (c: Container, init: boolean): ContainerStatus => {
    const all = ctx.byName.get(c.name) ?? [];
    const latest = all[0];
    const previous = all[1];
    const failure = memory.reasons.get(c.name);
    const lastState = previous === undefined ? undefined : terminatedState(previous, node.runtimeName);
    const base = {
      name: c.name,
      image: latest?.specImage ?? c.image ?? '',
      imageID: '',
      restartCount: latest?.attempt ?? 0,
    };
    const waiting = (reason: string, message?: string): ContainerState =>
      ({ waiting: { reason, ...(message === undefined || message === '' ? {} : { message }) } });
    if (latest === undefined) {
      return {
        ...base, state: failure === undefined ? waiting(defaultWaiting) : waiting(failure.reason, failure.message),
        ready: false, started: false,
      };
    }
    if (o.restarts && !init && startInFlight(memory, latest)) {
      const published = pod.status?.containerStatuses?.find((s) => s.name === c.name);
      if (published !== undefined) return published;
    }
    if (latest.state === 'running') {
      const hook = memory.hooks.get(latest.id);
      const started = hook === undefined || hook.phase === 'succeeded';
      if (!started) {
        // Nothing published yet (a first start): the container still shows as being created.
        return { ...base, state: waiting('ContainerCreating'), ...(lastState ? { lastState } : {}), ready: false, started: false };
      }
      const probe = compileProbe(c.readinessProbe);
      const ready = init ? false : probe === undefined || memory.probes.get(latest.id)?.ready === true;
      return {
        ...base, imageID: latest.imageRef, containerID: `${node.runtimeName}://${latest.id}`,
        state: { running: { startedAt: rfc3339(latest.startedAtMs) } },
        ...(lastState ? { lastState } : {}), ready, started: true,
      };
    }
    const succeededInit = init && latest.state === 'exited' && latest.exitCode === 0;
    const willRestart = o.restarts && !succeededInit
      && (memory.restartAfterKill.has(latest.id) || policyRestarts(ctx.policy, latest));
    const dead = terminatedState(latest, node.runtimeName);
    // kubelet's prober reports a successfully completed init container as ready.
    const common = {
      ...base, imageID: latest.imageRef, containerID: `${node.runtimeName}://${latest.id}`, ready: succeededInit, started: false,
    };
    if (willRestart && failure !== undefined) {
      return { ...common, state: waiting(failure.reason, failure.message), lastState: dead };
    }
    return { ...common, state: dead, ...(lastState ? { lastState } : {}) };
  };
  const initContainerStatuses = (spec.initContainers ?? []).map((c) => statusOf(c, true));
  const containerStatuses = spec.containers.map((c) => statusOf(c, false));
  const existingPhase = pod.status?.phase;
  let phase = podPhase(spec, initContainerStatuses, containerStatuses);
  // A pod never leaves Succeeded or Failed (kubelet refuses the "illegal phase transition").
  if (existingPhase === 'Succeeded' || existingPhase === 'Failed') phase = existingPhase;
  const existing: readonly Condition[] = pod.status?.conditions ?? [];
  const conditions = withTransitionTimes(
    kubeletConditions(spec, phase, initContainerStatuses, containerStatuses, existing), existing, now);
  return {
    phase,
    conditions,
    hostIP: node.ip,
    podIP: node.ip,
    podIPs: [{ ip: node.ip }],
    startTime: pod.status?.startTime ?? rfc3339(now),
    qosClass: qosClass(spec),
    ...(hasInit ? { initContainerStatuses } : {}),
    containerStatuses,
  };
}

/**
 * The parts of a pod's status that kubelet derives from its containers' statuses, as pure functions: the phase
 * (kubelet `getPhase`), the four conditions kubelet owns with their transition times, and the QoS class. Reasons and
 * messages are kubelet's, as users and controllers read them (`kubectl describe`, CloneSet readiness).
 */
import type { Condition } from '../../../api/meta.js';
import type { Container, ContainerStatus, PodPhase, PodSpec, PodStatus } from '../../../api/pod-types.js';

/** Conditions the node writes; any other type (readiness gates, ...) belongs to someone else and is left alone. */
export const KUBELET_CONDITION_TYPES = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'] as const;
export type KubeletConditionType = (typeof KUBELET_CONDITION_TYPES)[number];

/** metav1.Time on the wire: RFC 3339 at second precision. */
export function rfc3339(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * kubelet's `getPhase`: Pending while an init container is not done or an app container has not started yet;
 * Running once every app container has started and one runs (or all stopped and will restart); Succeeded or Failed
 * when all stopped for good. A failed init container fails the pod only with restartPolicy Never.
 */
export function podPhase(spec: PodSpec, init: readonly ContainerStatus[], app: readonly ContainerStatus[]): PodPhase {
  const policy = spec.restartPolicy ?? 'Always';
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const c of spec.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    const terminated = s?.state?.terminated;
    const lastTerminated = s?.lastState?.terminated;
    if (s === undefined || s.state?.running !== undefined) pendingInitialization++;
    else if (terminated !== undefined) { if (terminated.exitCode !== 0) failedInitialization++; }
    else if (s.state?.waiting !== undefined) {
      if (lastTerminated !== undefined) { if (lastTerminated.exitCode !== 0) failedInitialization++; }
      else pendingInitialization++;
    } else pendingInitialization++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers) {
    const s = app.find((x) => x.name === c.name);
    if (s === undefined) unknown++;
    else if (s.state?.running !== undefined) running++;
    else if (s.state?.terminated !== undefined) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting !== undefined) {
      if (s.lastState?.terminated !== undefined) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInitialization > 0 && policy === 'Never') return 'Failed';
  if (pendingInitialization > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function names(list: readonly string[]): string {
  return `[${list.join(' ')}]`;
}

type ConditionCore = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** The four kubelet conditions (without times), from the container statuses and the pod's other conditions. */
export function kubeletConditions(
  spec: PodSpec,
  phase: PodPhase,
  init: readonly ContainerStatus[],
  app: readonly ContainerStatus[],
  existing: readonly Condition[],
): ConditionCore[] {
  // Initialized (kubelet GeneratePodInitializedCondition)
  const incomplete = (spec.initContainers ?? [])
    .filter((c) => init.find((s) => s.name === c.name)?.state?.terminated?.exitCode !== 0)
    .map((c) => c.name);
  const initialized: ConditionCore = incomplete.length === 0
    ? { type: 'Initialized', status: 'True', ...(phase === 'Succeeded' && (spec.initContainers ?? []).length > 0 ? { reason: 'PodCompleted' } : {}) }
    : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: ${names(incomplete)}` };

  // ContainersReady (GenerateContainersReadyCondition)
  let containersReady: ConditionCore;
  if (phase === 'Succeeded') containersReady = { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' };
  else {
    const unready = spec.containers.filter((c) => app.find((s) => s.name === c.name)?.ready !== true).map((c) => c.name);
    containersReady = unready.length === 0
      ? { type: 'ContainersReady', status: 'True' }
      : { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: ${names(unready)}` };
  }

  // Ready (GeneratePodReadyCondition): containers ready, then every readiness gate's condition True.
  let ready: ConditionCore;
  if (containersReady.status !== 'True') ready = { ...containersReady, type: 'Ready' };
  else {
    const unmet: string[] = [];
    for (const gate of spec.readinessGates ?? []) {
      const c = existing.find((x) => x.type === gate.conditionType);
      if (c === undefined) unmet.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
      else if (c.status !== 'True') unmet.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
    }
    ready = unmet.length === 0
      ? { type: 'Ready', status: 'True' }
      : { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: unmet.join(', ') };
  }
  return [initialized, ready, containersReady, { type: 'PodScheduled', status: 'True' }];
}

/** Adds transition times: kept from the existing condition of the same type and status, `now` otherwise. */
export function withTransitionTimes(conditions: readonly ConditionCore[], existing: readonly Condition[], nowMs: number): Condition[] {
  return conditions.map((c) => {
    const before = existing.find((x) => x.type === c.type);
    const lastTransitionTime = before !== undefined && before.status === c.status && before.lastTransitionTime !== undefined
      ? before.lastTransitionTime
      : rfc3339(nowMs);
    return {
      type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.message === undefined ? {} : { message: c.message }),
    };
  });
}

/** Quantity as written, zero or not: `0`, `0m`, `0Mi` count as unset (Kubernetes compares to zero). */
function isZero(q: string | number | undefined): boolean {
  if (q === undefined) return true;
  return Number.parseFloat(String(q)) === 0;
}

/** core/v1 `GetPodQOS`: Guaranteed when every container limits cpu and memory with equal requests; BestEffort with nothing. */
export function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const req = requests[r];
      const lim = limits[r];
      if (!isZero(req) || !isZero(lim)) any = true;
      if (isZero(lim)) guaranteed = false;
      else if (req !== undefined && String(req) !== String(lim)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The status fields the node owns, for comparing what it would write with what the API has. */
export function ownedStatusView(s: PodStatus | undefined): unknown {
  const conditions = (s?.conditions ?? [])
    .filter((c) => (KUBELET_CONDITION_TYPES as readonly string[]).includes(c.type))
    .map((c) => ({ ...c, lastProbeTime: c.lastProbeTime ?? null }))
    .sort((a, b) => a.type.localeCompare(b.type));
  return {
    phase: s?.phase, hostIP: s?.hostIP, podIP: s?.podIP, podIPs: s?.['podIPs'], startTime: s?.startTime,
    qosClass: s?.['qosClass'], conditions,
    containerStatuses: s?.containerStatuses ?? [], initContainerStatuses: s?.initContainerStatuses ?? [],
  };
}

/**
 * The body of the node's status patch. Conditions merge by `type`, so a reason or message the new condition lacks
 * (Ready turning True drops `ContainersNotReady`) must be deleted explicitly, as the kubelet's old→new patch does;
 * otherwise the stale text stays and every later sync sees a difference and patches again.
 */
export function statusPatchBody(status: PodStatus): { status: PodStatus } {
  const conditions = status.conditions?.map((c) => ({ ...c, reason: c.reason ?? null, message: c.message ?? null }));
  return { status: conditions === undefined ? status : { ...status, conditions: conditions as unknown as Condition[] } };
}

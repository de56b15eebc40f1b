/**
 * The executor for one pod on an emulated node. A sync reads what the runtime holds for the pod, asks the planner
 * (`pod-sync-plan.ts`) what to do, writes the status when it changed, and carries out the actions; the node calls
 * `sync` again when the worker says so, when the pod changes, or when a container changes state.
 *
 * Actions that are quick run inside the sync (sandbox, create+start, probes, removal, the final DELETE); the ones that
 * can take long run in the background so a slow pull or a 30 s grace period never holds a sync slot: pulls (bounded
 * by the node's pull limit), postStart hooks, and kills with their preStop (bounded by the node's operation limit).
 * Each records its outcome in the worker's memory and asks for a sync. Pulls and hooks are aborted when the pod starts
 * terminating (kubelet cancels them too); every wait takes a signal.
 *
 * Status goes through `/status` as a strategic merge patch of the node-owned fields only, so conditions others set
 * (readiness gates) are merged by type and never clobbered, and only when it differs from what the API has.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { LimitFunction } from 'p-limit';
import type { Container, Pod, PodStatus } from '../../../api/pod-types.js';
import type { CriApi } from '../../../cri/cri-api.js';
import { CriError } from '../../../cri/cri-error.js';
import { pullImageWithCredentials } from '../../../cri/authenticated-pull.js';
import { pullAuthAttempts, RegistryKeyring, type PullSecretLike } from '../../../cri/registry-credentials.js';
import type { EventRecorder } from '../../../kube/events/index.js';
import { compareResourceVersions } from '../../../kube/expectations.js';
import { isNotFound, KubeApiError } from '../../../kube/kube-api-error.js';
import type { KubeClient } from '../../../kube/kube-client.js';
import { resources } from '../../../kube/resource-ref.js';
import { nextBackoff, formatGoDuration, type BackoffEntry } from './backoff.js';
import {
  containerConfigFor, LABEL_CONTAINER_NAME, LABEL_POD_UID, observedContainer, observedState, sandboxConfigFor,
} from './cri-pod-config.js';
import { ownedStatusView, statusPatchBody } from './pod-status.js';
import {
  planPodSync, podDescription, type HookState, type ObservedContainer, type ObservedSandbox, type PlannerConfig,
  type PodAction, type PodLifecycle, type PodMemory, type RuntimePodView, type StartFailure,
} from './pod-sync-plan.js';
import { compileProbe, INITIAL_PROBE_STATE, recordProbeResult, type ProbeState } from './readiness-probe.js';

/** What a worker needs from its node; shared by the node's workers. */
export interface PodWorkerContext {
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly cri: CriApi;
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
  readonly now: () => number;
  readonly sandboxLabels: Readonly<Record<string, string>>;
  readonly planner: PlannerConfig;
  /** Pulls of the whole node. */
  readonly pullLimit: LimitFunction;
  /** Hooks and kills of the whole node. */
  readonly operationLimit: LimitFunction;
  /** Deadline of a postStart hook's ExecSync. */
  readonly hookTimeoutMs: number;
  /** The status container id scheme (`containerd`, `kruise-ts`). */
  readonly runtimeScheme: (signal: AbortSignal) => Promise<string>;
  /** Delay of the next sync after a failed action or a back-off decision. */
  readonly syncRetryMs: number;
  /** Delay of the next sync when nothing is due. */
  readonly resyncPeriodMs: number;
  /** Asks for a sync of this pod after `delayMs` (0: as soon as possible). */
  readonly requeue: (uid: string, delayMs: number) => void;
}

/** What one sync asks of the node: come back after this long (0: at once), or not at all (`undefined`). */
export interface SyncResult {
  requeueAfterMs: number | undefined;
}

/** Worker states are the planner's lifecycle (`PodLifecycle`); moves only go forward. */
const ALLOWED_FROM: Readonly<Record<PodLifecycle, readonly PodLifecycle[]>> = {
  syncing: ['syncing'],
  terminating: ['syncing', 'terminating'],
  terminated: ['terminating', 'terminated'],
  finished: ['syncing', 'terminating', 'terminated', 'finished'],
};

/** Syncs in a row that may follow each other without delay; a pod needs about a dozen to start. */
const MAX_IMMEDIATE_SYNCS = 50;

/** Mutable twin of `PodMemory`; the planner gets it read-only. */
interface Memory {
  hooks: Map<string, HookState>;
  probes: Map<string, ProbeState>;
  pulled: Map<string, { image: string }>;
  reasons: Map<string, StartFailure>;
  containerBackoffs: Map<string, BackoffEntry>;
  imageBackoffs: Map<string, BackoffEntry>;
  pulling: Set<string>;
  killing: Set<string>;
  restartAfterKill: Set<string>;
}

/** gRPC code names as Go prints them in `rpc error: code = NotFound desc = ...` (kubelet's messages). */
function goCodeName(name: string): string {
  return name.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function errorText(err: unknown): string {
  if (CriError.is(err)) return `rpc error: code = ${goCodeName(err.grpcCodeName)} desc = ${err.details}`;
  return err instanceof Error ? err.message : String(err);
}

/** JSON view without `undefined` members, for comparing with what the API serves. */
function normalized(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null)) as unknown;
}

export class PodWorker {
  readonly uid: string;
  private stateValue: PodLifecycle = 'syncing';
  private pod: Pod;
  private podGone = false;
  private readonly memory: Memory;
  /** Aborted when the worker stops for good: every operation ends. */
  private readonly lifetime = new AbortController();
  /** Aborted when the pod starts terminating: pulls and postStart hooks in flight end. */
  private startup = new AbortController();
  private readonly operations = new Set<Promise<void>>();
  private sandboxReadyValue = false;
  private immediateRequeues = 0;
  /**
   * ContainerStatus answers by container id. What the status holds changes only with the state (an exit adds the
   * exit code and times), so an answer is reused while ListContainers shows the same state: kubelet's PLEG, too,
   * asks for a pod's status only when the relist saw a change.
   */
  private readonly statusCache = new Map<string, ObservedContainer>();
  private readonly log: Logger;

  constructor(private readonly ctx: PodWorkerContext, pod: Pod) {
    this.uid = pod.metadata.uid ?? '';
    this.pod = pod;
    this.memory = {
      hooks: new Map(), probes: new Map(), pulled: new Map(), reasons: new Map(), containerBackoffs: new Map(),
      imageBackoffs: new Map(), pulling: new Set(), killing: new Set(), restartAfterKill: new Set(),
    };
    this.log = ctx.logger.child({ pod: `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`, uid: this.uid });
  }

  get state(): PodLifecycle { return this.stateValue; }

  private isFinished(): boolean { return this.stateValue === 'finished'; }

  /** Whether the pod's newest sandbox is ready (the node's pod count). */
  get sandboxReady(): boolean { return this.sandboxReadyValue; }

  /** Background operations in flight (tests, shutdown). */
  get inFlight(): number { return this.operations.size; }

  /** Ignores illegal moves (a late event cannot bring a terminating pod back), logging each move. */
  private transition(from: readonly PodLifecycle[], to: PodLifecycle): boolean {
    if (!from.includes(this.stateValue)) {
      this.log.debug({ from: this.stateValue, to }, 'ignored illegal pod worker state change');
      return false;
    }
    if (this.stateValue !== to) this.log.debug({ from: this.stateValue, to }, 'pod worker state change');
    this.stateValue = to;
    if (to !== 'syncing') this.startup.abort(new Error('the pod is terminating'));
    return true;
  }

  /**
   * A newer version of the pod; older ones (a lagging informer after our own status write) are ignored. Returns
   * whether it needs a sync: like kubelet's pod config, a change of status alone (our own writes, mostly) does not,
   * unless a readiness gate's condition changed (kubelet `NeedToReconcilePodReadiness`).
   */
  observe(pod: Pod): boolean {
    const cmp = compareResourceVersions(pod.metadata.resourceVersion ?? '', this.pod.metadata.resourceVersion ?? '');
    if (cmp === -1) return false;
    const before = this.pod;
    this.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined) this.transition(ALLOWED_FROM.terminating, 'terminating');
    const gates = (p: Pod) => (p.spec.readinessGates ?? []).map((g) =>
      p.status?.conditions?.find((c) => c.type === g.conditionType)?.status ?? '');
    return !isDeepStrictEqual(before.spec, pod.spec)
      || before.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp
      || !isDeepStrictEqual(before.metadata.annotations, pod.metadata.annotations)
      || !isDeepStrictEqual(gates(before), gates(pod));
  }

  /** The pod object is gone: stop everything at once. */
  forget(): void {
    this.podGone = true;
    this.transition(ALLOWED_FROM.terminating, 'terminating');
  }

  /** Aborts every operation and waits for them to end. */
  async stop(): Promise<void> {
    this.lifetime.abort(new Error('the pod worker is stopping'));
    while (this.operations.size > 0) await Promise.allSettled([...this.operations]);
  }

  // ---- One sync ----

  async sync(signal: AbortSignal): Promise<SyncResult> {
    if (this.stateValue === 'finished') return { requeueAfterMs: undefined };
    const scheme = await this.ctx.runtimeScheme(signal);
    const runtime = await this.observeRuntime(signal);
    this.gcMemory(runtime);
    const plan = planPodSync({
      pod: this.pod, podGone: this.podGone, runtime, memory: this.memory as PodMemory,
      node: { ip: this.ctx.nodeIp, runtimeName: scheme }, config: this.ctx.planner, now: this.ctx.now(),
    });
    for (const [name, failure] of plan.reasons) {
      if (failure === null) this.memory.reasons.delete(name);
      else this.memory.reasons.set(name, failure);
    }
    for (const [key, entry] of plan.containerBackoffs) this.memory.containerBackoffs.set(key, entry);
    for (const e of plan.events) this.event(e.type, e.reason, e.message);
    if (plan.status !== undefined) await this.writeStatus(plan.status, signal);
    this.sandboxReadyValue = runtime.sandboxes.some((s) => s.ready);
    this.transition(ALLOWED_FROM[plan.lifecycle], plan.lifecycle);

    let inline = 0;
    let failed = false;
    const probes: Extract<PodAction, { type: 'probe' }>[] = [];
    for (const action of plan.actions) {
      if (signal.aborted) break;
      try {
        switch (action.type) {
          case 'pullImage': this.launchPull(action); break;
          case 'kill': this.launchKill(action); break;
          case 'runPostStart': this.launchPostStart(action); break;
          case 'probe': probes.push(action); break;
          default:
            inline++;
            await this.runInline(action, runtime, signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        failed = true;
        this.log.info({ action: action.type, err: errorText(err) }, 'pod sync action failed');
      }
    }
    if (probes.length > 0) {
      inline += probes.length;
      await Promise.all(probes.map((p) => this.runProbe(p, signal)));
    }
    if (this.isFinished()) return { requeueAfterMs: undefined };
    return { requeueAfterMs: this.nextSyncDelay(inline, failed, plan.retrySoon, plan.requeueAfterMs) };
  }

  /**
   * Progress (an inline action done) asks for an immediate sync; a failure or a back-off decision for one after the
   * retry delay; otherwise the plan's own timer, or the resync period. A run of immediate syncs is capped so a plan
   * that keeps producing the same action cannot spin.
   */
  private nextSyncDelay(inline: number, failed: boolean, retrySoon: boolean, planned: number | undefined): number {
    const { syncRetryMs, resyncPeriodMs } = this.ctx;
    if (failed || retrySoon) {
      this.immediateRequeues = 0;
      return Math.min(syncRetryMs, planned ?? Infinity);
    }
    if (inline > 0) {
      this.immediateRequeues++;
      if (this.immediateRequeues > MAX_IMMEDIATE_SYNCS) {
        this.immediateRequeues = 0;
        return syncRetryMs;
      }
      return 0;
    }
    this.immediateRequeues = 0;
    return Math.min(planned ?? Infinity, resyncPeriodMs);
  }

  // ---- Reading the runtime ----

  private async observeRuntime(signal: AbortSignal): Promise<RuntimePodView> {
    const { cri } = this.ctx;
    const selector = { ...this.ctx.sandboxLabels, [LABEL_POD_UID]: this.uid };
    const [sandboxList, containerList] = await Promise.all([
      cri.listPodSandbox({ filter: { labelSelector: selector } }, { signal }),
      cri.listContainers({ filter: { labelSelector: selector } }, { signal }),
    ]);
    const sandboxes: ObservedSandbox[] = sandboxList.items.flatMap((s) => (s === null ? [] : [{
      id: s.id, attempt: s.metadata?.attempt ?? 0, ready: s.state === 'SANDBOX_READY',
    }]));
    // Only the two newest attempts per container name matter (current state and lastState).
    type Listed = NonNullable<(typeof containerList.containers)[number]>;
    const byName = new Map<string, Listed[]>();
    for (const c of containerList.containers) {
      if (c === null) continue;
      const name = c.labels[LABEL_CONTAINER_NAME] ?? c.metadata?.name ?? '';
      const list = byName.get(name) ?? [];
      list.push(c);
      byName.set(name, list);
    }
    const wanted = [...byName.values()].flatMap((list) =>
      list.sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0)).slice(0, 2));
    // Side by side, bounded by the pod's container count (two per name): local calls, and a sync that waits for each
    // in turn adds one trip through a busy event loop per container to every step of the pod.
    const statuses = await Promise.all(wanted.map(async (c) => {
      const cached = this.statusCache.get(c.id);
      if (cached !== undefined && cached.state === observedState(c.state)) return [cached];
      try {
        const res = await cri.containerStatus({ containerId: c.id }, { signal });
        if (res.status === null) return [];
        const observed = observedContainer(res.status);
        this.statusCache.set(c.id, observed);
        return [observed];
      } catch (err) {
        if (!(CriError.is(err) && err.reason === 'NotFound')) throw err;
        return [];
      }
    }));
    const containers: ObservedContainer[] = statuses.flat();
    // Image presence, only for containers that may have to start.
    const presentImages = new Set<string>();
    const spec = this.pod.spec;
    const images = new Set<string>();
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const latest = containers.filter((x) => x.name === c.name).sort((a, b) => b.attempt - a.attempt)[0];
      if (latest?.state === 'running' && latest.specImage === c.image) continue;
      if (c.image !== undefined && c.image !== '') images.add(c.image);
    }
    if (!this.podGone && this.pod.metadata.deletionTimestamp === undefined) {
      await Promise.all([...images].map(async (image) => {
        const res = await cri.imageStatus({ image: { image } }, { signal });
        if (res.image !== null) presentImages.add(image);
      }));
    }
    return { sandboxes, containers, presentImages };
  }

  /** Forgets per-container facts of containers the runtime no longer has. */
  private gcMemory(runtime: RuntimePodView): void {
    const ids = new Set(runtime.containers.map((c) => c.id));
    for (const map of [this.memory.hooks, this.memory.probes, this.statusCache]) for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
    for (const id of this.memory.restartAfterKill) if (!ids.has(id)) this.memory.restartAfterKill.delete(id);
  }

  // ---- Status ----

  private async writeStatus(status: PodStatus, signal: AbortSignal): Promise<void> {
    if (isDeepStrictEqual(normalized(ownedStatusView(status)), normalized(ownedStatusView(this.pod.status)))) return;
    const { namespace = '', name = '' } = this.pod.metadata;
    try {
      const updated = await this.ctx.client.patch(
        resources.pods, namespace, name, 'strategic', statusPatchBody(status), { subresource: 'status', signal });
      // The answer may carry a spec change made since this plan (an image patched meanwhile). Taking it in makes the
      // informer's event for that change look stale, so it would wait for the resync: sync again now instead.
      if (this.observe(updated as unknown as Pod)) this.ctx.requeue(this.uid, 0);
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile: the informer says so next
      throw err;
    }
  }

  // ---- Inline actions ----

  private async runInline(action: PodAction, runtime: RuntimePodView, signal: AbortSignal): Promise<void> {
    const { cri } = this.ctx;
    switch (action.type) {
      case 'ensureSandbox': {
        try {
          await cri.runPodSandbox({ config: sandboxConfigFor(this.pod, action.attempt, this.ctx.sandboxLabels) }, { signal });
        } catch (err) {
          this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errorText(err)}`);
          throw err;
        }
        return;
      }
      case 'createAndStart': return this.createAndStart(action, runtime, signal);
      case 'stopSandbox':
        await cri.stopPodSandbox({ podSandboxId: action.sandboxId }, { signal });
        return;
      case 'removeSandbox':
        try {
          await cri.stopPodSandbox({ podSandboxId: action.sandboxId }, { signal });
        } catch (err) {
          if (!(CriError.is(err) && err.reason === 'NotFound')) throw err;
        }
        await cri.removePodSandbox({ podSandboxId: action.sandboxId }, { signal });
        return;
      case 'deletePodObject': {
        const { namespace = '', name = '' } = this.pod.metadata;
        try {
          await this.ctx.client.delete(resources.pods, namespace, name, {
            gracePeriodSeconds: 0, preconditions: { uid: action.uid }, signal,
          });
        } catch (err) {
          // Gone already, or the name now belongs to a new pod (uid precondition): either way ours is gone.
          if (!(isNotFound(err) || (KubeApiError.is(err) && err.code === 409))) throw err;
        }
        this.transition(ALLOWED_FROM.finished, 'finished');
        return;
      }
      default:
        throw new Error(`not an inline action: ${action.type}`);
    }
  }

  private specOf(name: string): Container | undefined {
    const spec = this.pod.spec;
    return [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === name);
  }

  private async createAndStart(
    action: Extract<PodAction, { type: 'createAndStart' }>, runtime: RuntimePodView, signal: AbortSignal,
  ): Promise<void> {
    const c = this.specOf(action.container);
    if (c === undefined) return;
    const { cri } = this.ctx;
    const sandbox = runtime.sandboxes.find((s) => s.id === action.sandboxId);
    if (action.imageAlreadyPresent) {
      this.event('Normal', 'Pulled', `Container image "${action.image}" already present on machine`);
    }
    let containerId: string;
    try {
      const res = await cri.createContainer({
        podSandboxId: action.sandboxId,
        config: containerConfigFor(this.pod, c, action.attempt, this.ctx.sandboxLabels, this.ctx.nodeIp),
        sandboxConfig: sandboxConfigFor(this.pod, sandbox?.attempt ?? 0, this.ctx.sandboxLabels),
      }, { signal });
      containerId = res.containerId;
    } catch (err) {
      if (signal.aborted) throw err;
      this.failStart(c.name, 'CreateContainerError', errorText(err));
      throw err;
    }
    this.memory.pulled.delete(c.name);
    this.event('Normal', 'Created', `Created container ${c.name}`);
    const hook = c.lifecycle?.postStart?.exec?.command;
    if (!action.init && hook !== undefined && hook.length > 0) this.memory.hooks.set(containerId, { phase: 'pending' });
    try {
      await cri.startContainer({ containerId }, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      this.failStart(c.name, 'RunContainerError', errorText(err));
      throw err;
    }
    this.memory.reasons.delete(c.name);
    this.event('Normal', 'Started', `Started container ${c.name}`);
    // kubelet runs the hook right after the start, inside startContainer: no plan in between.
    if (this.memory.hooks.get(containerId)?.phase === 'pending') {
      this.launchPostStart({ type: 'runPostStart', container: c.name, containerId, command: hook ?? [] });
    }
  }

  private failStart(container: string, reason: string, message: string): void {
    this.memory.reasons.set(container, { reason, message });
    this.event('Warning', 'Failed', `Error: ${message}`);
  }

  private async runProbe(action: Extract<PodAction, { type: 'probe' }>, signal: AbortSignal): Promise<void> {
    const probe = compileProbe(this.specOf(action.container)?.readinessProbe);
    if (probe === undefined) return;
    let success = false;
    let output = '';
    try {
      const res = await this.ctx.cri.execSync(
        { containerId: action.containerId, cmd: [...action.command], timeout: String(action.timeoutSeconds) },
        { signal, timeoutMs: action.timeoutSeconds * 1000 + 5000 });
      success = res.exitCode === 0;
      output = `${res.stdout.toString('utf8')}${res.stderr.toString('utf8')}`;
    } catch (err) {
      if (signal.aborted) return;
      output = CriError.is(err) && err.reason === 'DeadlineExceeded'
        ? `command ${JSON.stringify(action.command.join(' '))} timed out`
        : errorText(err);
    }
    const before = this.memory.probes.get(action.containerId) ?? INITIAL_PROBE_STATE;
    this.memory.probes.set(action.containerId, recordProbeResult(probe, before, success, this.ctx.now()));
    if (!success) this.event('Warning', 'Unhealthy', `Readiness probe failed: ${output}`);
  }

  // ---- Background operations ----

  /** Runs `fn` through `limit`, tracked, then asks for a sync. */
  private launch(limit: LimitFunction, signal: AbortSignal, what: string, fn: (signal: AbortSignal) => Promise<void>): void {
    const op = limit(() => (signal.aborted ? Promise.resolve() : fn(signal)))
      .catch((err: unknown) => { this.log.info({ operation: what, err: errorText(err) }, 'pod operation failed'); })
      .finally(() => {
        this.operations.delete(op);
        if (!this.lifetime.signal.aborted) this.ctx.requeue(this.uid, 0);
      });
    this.operations.add(op);
  }

  private launchPull(action: Extract<PodAction, { type: 'pullImage' }>): void {
    const { image } = action;
    if (this.memory.pulling.has(image)) return;
    this.memory.pulling.add(image);
    const pod = this.pod;
    const signal = AbortSignal.any([this.lifetime.signal, this.startup.signal]);
    this.launch(this.ctx.pullLimit, signal, 'pull', async (s) => {
      try {
        this.event('Normal', 'Pulling', `Pulling image "${image}"`);
        const started = performance.now();
        const keyring = await this.keyring(pod, s);
        await pullImageWithCredentials(this.ctx.cri, image, pullAuthAttempts(keyring, image), {
          signal: s, logger: this.log, sandboxConfig: sandboxConfigFor(pod, 0, this.ctx.sandboxLabels),
        });
        // Every container of the pod waiting for this image may start with it now.
        for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
          if (c.name === action.container || c.image === image) this.memory.pulled.set(c.name, { image });
        }
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${formatGoDuration(performance.now() - started)}`);
      } catch (err) {
        if (s.aborted) return;
        const now = this.ctx.now();
        this.memory.imageBackoffs.set(image, nextBackoff(this.memory.imageBackoffs.get(image), now, now, this.ctx.planner.imageBackoff));
        const message = errorText(err);
        this.memory.reasons.set(action.container, { reason: 'ErrImagePull', message });
        this.event('Warning', 'Failed', `Failed to pull image "${image}": ${message}`);
        this.event('Warning', 'Failed', 'Error: ErrImagePull');
      } finally {
        this.memory.pulling.delete(image);
      }
    });
  }

  /** kubelet reads `spec.imagePullSecrets` from the pod's namespace for each pull; a missing secret is skipped. */
  private async keyring(pod: Pod, signal: AbortSignal): Promise<RegistryKeyring> {
    const secrets: PullSecretLike[] = [];
    for (const ref of pod.spec.imagePullSecrets ?? []) {
      if (ref.name === undefined || ref.name === '') continue;
      try {
        const secret = await this.ctx.client.get(resources.secrets, pod.metadata.namespace ?? '', ref.name, signal);
        secrets.push(secret as PullSecretLike);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.log.info({ secret: ref.name }, 'image pull secret not found');
      }
    }
    const { keyring, problems } = RegistryKeyring.fromSecrets(secrets);
    for (const p of problems) this.log.info({ err: p.message }, 'image pull secret not usable');
    return keyring;
  }

  private launchPostStart(action: Extract<PodAction, { type: 'runPostStart' }>): void {
    if (this.memory.hooks.get(action.containerId)?.phase !== 'pending') return;
    this.memory.hooks.set(action.containerId, { phase: 'running' });
    const signal = AbortSignal.any([this.lifetime.signal, this.startup.signal]);
    const pod = this.pod;
    this.launch(this.ctx.operationLimit, signal, 'postStart', async (s) => {
      let failure: string | undefined;
      try {
        const res = await this.ctx.cri.execSync(
          { containerId: action.containerId, cmd: [...action.command], timeout: '0' }, { signal: s, timeoutMs: this.ctx.hookTimeoutMs });
        if (res.exitCode !== 0) {
          failure = `command '${action.command.join(' ')}' exited with ${res.exitCode}: ${res.stderr.toString('utf8')}`;
          failure += `, message: ${JSON.stringify(res.stdout.toString('utf8'))}`;
        }
      } catch (err) {
        if (s.aborted) return;
        failure = `${errorText(err)}, message: ""`;
      }
      if (failure === undefined) {
        this.memory.hooks.set(action.containerId, { phase: 'succeeded' });
        return;
      }
      const message = `Exec lifecycle hook ([${action.command.join(' ')}]) for Container "${action.container}" in Pod `
        + `"${podDescription(pod)}" failed - error: ${failure}`;
      this.memory.hooks.set(action.containerId, { phase: 'failed', message });
      this.memory.reasons.set(action.container, { reason: 'PostStartHookError', message });
      this.event('Warning', 'FailedPostStartHook', message);
    });
  }

  private launchKill(action: Extract<PodAction, { type: 'kill' }>): void {
    if (this.memory.killing.has(action.containerId)) return;
    this.memory.killing.add(action.containerId);
    if (action.restartAfter) this.memory.restartAfterKill.add(action.containerId);
    const pod = this.pod;
    this.launch(this.ctx.operationLimit, this.lifetime.signal, 'kill', async (s) => {
      try {
        this.event('Normal', 'Killing', action.reason);
        const started = this.ctx.now();
        let grace = action.gracePeriodSeconds;
        if (action.preStop !== undefined) {
          await this.runPreStop(action, pod, grace, s);
          // kubelet: what is left of the grace period after preStop, never under its 2 s minimum.
          const elapsedS = Math.floor((this.ctx.now() - started) / 1000);
          grace = Math.max(this.ctx.planner.minimumGracePeriodSeconds, grace - elapsedS);
        }
        await this.ctx.cri.stopContainer(
          { containerId: action.containerId, timeout: String(grace) }, { signal: s, timeoutMs: grace * 1000 + 30_000 });
      } catch (err) {
        if (CriError.is(err) && err.reason === 'NotFound') return;
        throw err;
      } finally {
        this.memory.killing.delete(action.containerId);
      }
    });
  }

  private async runPreStop(action: Extract<PodAction, { type: 'kill' }>, pod: Pod, graceSeconds: number, signal: AbortSignal): Promise<void> {
    const cmd = action.preStop ?? [];
    let failure: string | undefined;
    try {
      const res = await this.ctx.cri.execSync(
        { containerId: action.containerId, cmd: [...cmd], timeout: String(graceSeconds) },
        { signal, timeoutMs: graceSeconds * 1000 + 5000 });
      if (res.exitCode !== 0) failure = `command '${cmd.join(' ')}' exited with ${res.exitCode}: ${res.stderr.toString('utf8')}`;
    } catch (err) {
      if (signal.aborted) throw err;
      failure = errorText(err);
    }
    if (failure !== undefined) {
      this.event('Warning', 'FailedPreStopHook', `Exec lifecycle hook ([${cmd.join(' ')}]) for Container "${action.container}" `
        + `in Pod "${podDescription(pod)}" failed - error: ${failure}, message: ""`);
    }
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.recorder.event({ apiVersion: 'v1', kind: 'Pod', metadata: this.pod.metadata }, type, reason, message);
  }
}

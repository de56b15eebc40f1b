/**
 * The pod planner, row by row on a fixed clock: each row is a pod, what the runtime holds for it and what its worker
 * remembers, and the actions and status kubelet would arrive at. Multi-step rows walk one pod through time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, PodSpec } from '../../../src/api/pod-types.js';
import {
  emptyPodMemory, planPodSync, type ObservedContainer, type PodMemory, type PodSyncInput, type PodSyncPlan,
  type RuntimePodView,
} from '../../../src/sandbox/node/pods/index.js';
import { rfc3339 } from '../../../src/sandbox/node/pods/pod-status.js';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const S = 1000;
const DIGEST = `docker.io/library/busybox@sha256:${'a'.repeat(64)}`;
const CONFIG = {
  containerBackoff: { initialMs: 10_000, maxMs: 300_000 },
  imageBackoff: { initialMs: 10_000, maxMs: 300_000 },
  minimumGracePeriodSeconds: 2,
};

function pod(spec: Partial<PodSpec> = {}, meta: Partial<Pod['metadata']> = {}, status?: Pod['status']): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', resourceVersion: '1', ...meta },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'busybox:1.36' }], ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

function ctr(o: Partial<ObservedContainer> & { name: string }): ObservedContainer {
  const attempt = o.attempt ?? 0;
  return {
    id: `${o.name}-${attempt}`, attempt, state: 'running', createdAtMs: T0 - 60 * S, startedAtMs: T0 - 60 * S,
    finishedAtMs: 0, exitCode: 0, reason: '', message: '', specImage: 'busybox:1.36', imageRef: DIGEST, ...o,
  };
}

function exited(name: string, attempt: number, exitCode: number, finishedAtMs: number, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return ctr({ name, attempt, state: 'exited', exitCode, finishedAtMs, startedAtMs: finishedAtMs - S, createdAtMs: finishedAtMs - 2 * S, ...extra });
}

const SANDBOX = { id: 'sb-0', attempt: 0, ready: true };

function view(containers: ObservedContainer[] = [], o: Partial<RuntimePodView> = {}): RuntimePodView {
  return { sandboxes: [SANDBOX], containers, presentImages: new Set(), ...o };
}

function memory(o: Partial<{ [K in keyof PodMemory]: PodMemory[K] }> = {}): PodMemory {
  return { ...emptyPodMemory(), ...o };
}

function plan(p: Pod, runtime: RuntimePodView, mem: PodMemory = memory(), now = T0, podGone = false): PodSyncPlan {
  const input: PodSyncInput = {
    pod: p, podGone, runtime, memory: mem, node: { ip: '10.0.0.7', runtimeName: 'kruise-ts' }, config: CONFIG, now,
  };
  return planPodSync(input);
}

const types = (r: PodSyncPlan) => r.actions.map((a) => a.type);
const cond = (r: PodSyncPlan, type: string) => r.status?.conditions?.find((c) => c.type === type);
const cs = (r: PodSyncPlan, name: string) => r.status?.containerStatuses?.find((c) => c.name === name);

interface Row {
  name: string;
  run(): void;
}

const rows: Row[] = [
  {
    name: 'a fresh pod gets a sandbox first, and shows its containers as being created',
    run() {
      const r = plan(pod(), view([], { sandboxes: [] }));
      assert.deepEqual(r.actions, [{ type: 'ensureSandbox', attempt: 0 }]);
      assert.equal(r.status?.phase, 'Pending');
      assert.deepEqual(cs(r, 'app')?.state, { waiting: { reason: 'ContainerCreating' } });
      assert.equal(cond(r, 'PodScheduled')?.status, 'True');
      assert.equal(cond(r, 'Ready')?.reason, 'ContainersNotReady');
      assert.equal(r.status?.hostIP, '10.0.0.7');
      assert.equal(r.status?.startTime, rfc3339(T0));
      assert.equal(r.status?.['qosClass'], 'BestEffort');
    },
  },
  {
    name: 'a sandbox that is not ready is replaced by the next attempt',
    run() {
      const r = plan(pod(), view([], { sandboxes: [{ id: 'sb-0', attempt: 0, ready: false }] }));
      assert.deepEqual(r.actions, [{ type: 'ensureSandbox', attempt: 1 }]);
    },
  },
  {
    name: 'sandbox ready and image absent: pull (IfNotPresent)',
    run() {
      const r = plan(pod(), view());
      assert.deepEqual(r.actions, [{ type: 'pullImage', container: 'app', image: 'busybox:1.36', policy: 'IfNotPresent' }]);
    },
  },
  {
    name: 'image present (IfNotPresent): create and start attempt 0 without pulling',
    run() {
      const r = plan(pod(), view([], { presentImages: new Set(['busybox:1.36']) }));
      assert.deepEqual(r.actions, [{
        type: 'createAndStart', container: 'app', init: false, attempt: 0, image: 'busybox:1.36', sandboxId: 'sb-0', imageAlreadyPresent: true,
      }]);
    },
  },
  {
    name: 'policy Always pulls even a present image, and starts once it was pulled',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:latest' }] });
      const present = new Set(['busybox:latest']);
      assert.deepEqual(types(plan(p, view([], { presentImages: present }))), ['pullImage']);
      const r = plan(p, view([], { presentImages: present }), memory({ pulled: new Map([['app', { image: 'busybox:latest' }]]) }));
      assert.deepEqual(types(r), ['createAndStart']);
      assert.equal(r.actions[0]?.type === 'createAndStart' && r.actions[0].imageAlreadyPresent, false);
    },
  },
  {
    name: 'policy Never with the image absent: ErrImageNeverPull, no pull',
    run() {
      const r = plan(pod({ containers: [{ name: 'app', image: 'busybox:1.36', imagePullPolicy: 'Never' }] }), view());
      assert.deepEqual(r.actions, []);
      assert.equal(r.reasons.get('app')?.reason, 'ErrImageNeverPull');
      assert.equal(r.reasons.get('app')?.message, 'Container image "busybox:1.36" is not present with pull policy of Never');
    },
  },
  {
    name: 'a pull in flight: nothing to do, the container is still being created',
    run() {
      const r = plan(pod(), view(), memory({ pulling: new Set(['busybox:1.36']) }));
      assert.deepEqual(r.actions, []);
      assert.deepEqual(cs(r, 'app')?.state, { waiting: { reason: 'ContainerCreating' } });
    },
  },
  {
    name: 'a failed pull shows ErrImagePull; within the image back-off it becomes ImagePullBackOff, without a pull',
    run() {
      const mem = memory({
        reasons: new Map([['app', { reason: 'ErrImagePull', message: 'rpc error: code = NotFound desc = not found' }]]),
        imageBackoffs: new Map([['busybox:1.36', { backoffMs: 10 * S, lastUpdateMs: T0 - S }]]),
      });
      const r = plan(pod(), view(), mem);
      assert.deepEqual(r.actions, []);
      assert.deepEqual(cs(r, 'app')?.state, { waiting: { reason: 'ErrImagePull', message: 'rpc error: code = NotFound desc = not found' } });
      assert.deepEqual(r.reasons.get('app'), { reason: 'ImagePullBackOff', message: 'Back-off pulling image "busybox:1.36"' });
      assert.equal(r.retrySoon, true);
      assert.equal(r.requeueAfterMs, 9 * S);
      assert.ok(r.events.some((e) => e.reason === 'BackOff' && e.message === 'Back-off pulling image "busybox:1.36"'));
      // Once the back-off is over, pull again.
      assert.deepEqual(types(plan(pod(), view(), mem, T0 + 9 * S)), ['pullImage']);
    },
  },
  {
    name: 'a running container with a pending postStart gets the hook run, holds back the next container, shows as created',
    run() {
      const p = pod({
        containers: [
          { name: 'proxy', image: 'busybox:1.36', lifecycle: { postStart: { exec: { command: ['sh', '-c', 'wait-ready'] } } } },
          { name: 'app', image: 'busybox:1.36' },
        ],
      });
      const r = plan(p, view([ctr({ name: 'proxy' })], { presentImages: new Set(['busybox:1.36']) }),
        memory({ hooks: new Map([['proxy-0', { phase: 'pending' }]]) }));
      assert.deepEqual(r.actions, [{ type: 'runPostStart', container: 'proxy', containerId: 'proxy-0', command: ['sh', '-c', 'wait-ready'] }]);
      assert.deepEqual(cs(r, 'proxy')?.state, { waiting: { reason: 'ContainerCreating' } });
      assert.equal(cs(r, 'proxy')?.started, false);
      assert.equal(r.status?.phase, 'Pending');
      // Hook done: the next container starts.
      const r2 = plan(p, view([ctr({ name: 'proxy' })], { presentImages: new Set(['busybox:1.36']) }),
        memory({ hooks: new Map([['proxy-0', { phase: 'succeeded' }]]) }));
      assert.deepEqual(r2.actions.map((a) => [a.type, 'container' in a ? a.container : '']), [['createAndStart', 'app']]);
      assert.equal(cs(r2, 'proxy')?.started, true);
    },
  },
  {
    name: 'a failed postStart kills the container, which then restarts at once, then after the back-off',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:1.36', lifecycle: { postStart: { exec: { command: ['false'] } } } }] });
      const failed = memory({ hooks: new Map([['app-0', { phase: 'failed', message: 'hook failed' }]]) });
      const r = plan(p, view([ctr({ name: 'app' })]), failed);
      assert.deepEqual(r.actions, [{
        type: 'kill', container: 'app', containerId: 'app-0', reason: 'FailedPostStartHook', gracePeriodSeconds: 30, restartAfter: false,
      }]);
      // Killed: the first restart is immediate and starts the back-off.
      const mem = memory({ reasons: new Map([['app', { reason: 'PostStartHookError', message: 'hook failed' }]]) });
      const present = new Set(['busybox:1.36']);
      const r2 = plan(p, view([exited('app', 0, 137, T0)], { presentImages: present }), mem, T0 + 100);
      assert.deepEqual(types(r2), ['createAndStart']);
      assert.equal(r2.actions[0]?.type === 'createAndStart' && r2.actions[0].attempt, 1);
      assert.deepEqual(cs(r2, 'app')?.state, { waiting: { reason: 'PostStartHookError', message: 'hook failed' } });
      assert.equal(cs(r2, 'app')?.lastState?.terminated?.exitCode, 137);
      assert.deepEqual(r2.containerBackoffs.get('app@busybox:1.36'), { backoffMs: 10 * S, lastUpdateMs: T0 + 100 });
    },
  },
  {
    name: 'CrashLoopBackOff: immediate first restart, then 10 s, then 20 s, measured from each death',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }] });
      const present = new Set(['busybox:1.36']);
      const backoffs = new Map<string, { backoffMs: number; lastUpdateMs: number }>();
      const mem = () => memory({ containerBackoffs: new Map(backoffs) });
      // Step 1: attempt 0 died at T0.
      let r = plan(p, view([exited('app', 0, 1, T0)], { presentImages: present }), mem(), T0 + 50);
      assert.deepEqual(types(r), ['createAndStart']);
      for (const [k, v] of r.containerBackoffs) backoffs.set(k, v);
      // Step 2: attempt 1 died at T0 + 1 s; 5 s later it is still backing off for 10 s.
      const deaths = [exited('app', 1, 1, T0 + S), exited('app', 0, 1, T0)];
      r = plan(p, view(deaths, { presentImages: present }), mem(), T0 + 6 * S);
      assert.deepEqual(r.actions, []);
      assert.deepEqual(r.reasons.get('app'), {
        reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app pod=web_default(uid-1)',
      });
      assert.equal(r.requeueAfterMs, 5 * S);
      assert.ok(r.events.some((e) => e.reason === 'BackOff' && e.message === 'Back-off restarting failed container'));
      assert.equal(cs(r, 'app')?.restartCount, 1);
      assert.equal(r.status?.phase, 'Running');
      // Step 3: at death + 10 s it restarts (attempt 2) and the back-off doubles.
      r = plan(p, view(deaths, { presentImages: present }), mem(), T0 + 11 * S);
      assert.deepEqual(types(r), ['createAndStart']);
      assert.equal(r.actions[0]?.type === 'createAndStart' && r.actions[0].attempt, 2);
      assert.equal(r.containerBackoffs.get('app@busybox:1.36')?.backoffMs, 20 * S);
    },
  },
  {
    name: 'restartPolicy Never with exit 1: Failed, nothing restarted, sandbox stopped once the phase is written',
    run() {
      const p = pod({ restartPolicy: 'Never' });
      const r = plan(p, view([exited('app', 0, 1, T0 - S)]));
      assert.deepEqual(r.actions, []);
      assert.equal(r.status?.phase, 'Failed');
      assert.equal(cs(r, 'app')?.state?.terminated?.reason, 'Error');
      const r2 = plan(pod({ restartPolicy: 'Never' }, {}, { phase: 'Failed' }), view([exited('app', 0, 1, T0 - S)]));
      assert.deepEqual(r2.actions, [{ type: 'stopSandbox', sandboxId: 'sb-0' }]);
      assert.equal(r2.status?.phase, 'Failed');
    },
  },
  {
    name: 'restartPolicy OnFailure: exit 0 is Succeeded, exit 1 restarts',
    run() {
      const ok = plan(pod({ restartPolicy: 'OnFailure' }), view([exited('app', 0, 0, T0 - S)]));
      assert.deepEqual(ok.actions, []);
      assert.equal(ok.status?.phase, 'Succeeded');
      assert.equal(cond(ok, 'Ready')?.reason, 'PodCompleted');
      const bad = plan(pod({ restartPolicy: 'OnFailure' }), view([exited('app', 0, 1, T0 - S)], { presentImages: new Set(['busybox:1.36']) }));
      assert.deepEqual(types(bad), ['createAndStart']);
      assert.equal(bad.status?.phase, 'Running');
    },
  },
  {
    name: 'init containers run one at a time, in order, before the app containers',
    run() {
      const inits: Container[] = [{ name: 'init-1', image: 'busybox:1.36' }, { name: 'init-2', image: 'busybox:1.36' }];
      const p = pod({ initContainers: inits });
      const present = new Set(['busybox:1.36']);
      let r = plan(p, view([], { presentImages: present }));
      assert.deepEqual(r.actions.map((a) => 'container' in a && a.container), ['init-1']);
      assert.deepEqual(cs(r, 'app')?.state, { waiting: { reason: 'PodInitializing' } });
      r = plan(p, view([exited('init-1', 0, 0, T0 - S), ctr({ name: 'init-2' })], { presentImages: present }));
      assert.deepEqual(r.actions, []);
      assert.equal(cond(r, 'Initialized')?.message, 'containers with incomplete status: [init-2]');
      assert.equal(r.status?.phase, 'Pending');
      r = plan(p, view([exited('init-1', 0, 0, T0 - 2 * S), exited('init-2', 0, 0, T0 - S)], { presentImages: present }));
      assert.deepEqual(r.actions.map((a) => 'container' in a && a.container), ['app']);
      assert.equal(cond(r, 'Initialized')?.status, 'True');
      assert.equal(r.status?.initContainerStatuses?.[1]?.ready, true);
    },
  },
  {
    name: 'a failed init container fails a restartPolicy Never pod and starts nothing else',
    run() {
      const p = pod({ restartPolicy: 'Never', initContainers: [{ name: 'init-1', image: 'busybox:1.36' }] });
      const r = plan(p, view([exited('init-1', 0, 2, T0 - S)], { presentImages: new Set(['busybox:1.36']) }));
      assert.deepEqual(r.actions, []);
      assert.equal(r.status?.phase, 'Failed');
    },
  },
  {
    name: 'readiness gates: Ready needs every gate condition True on top of ready containers',
    run() {
      const gate = 'example.com/gate';
      const running = view([ctr({ name: 'app' })]);
      let r = plan(pod({ readinessGates: [{ conditionType: gate }] }), running);
      assert.equal(cond(r, 'ContainersReady')?.status, 'True');
      assert.deepEqual([cond(r, 'Ready')?.status, cond(r, 'Ready')?.reason], ['False', 'ReadinessGatesNotReady']);
      r = plan(pod({ readinessGates: [{ conditionType: gate }] }, {}, { conditions: [{ type: gate, status: 'True' }] }), running);
      assert.equal(cond(r, 'Ready')?.status, 'True');
      assert.equal(r.status?.conditions?.some((c) => c.type === gate), false, 'others\' conditions are not part of what the node writes');
    },
  },
  {
    name: 'an exec readiness probe is due after its initial delay and every period; the container is ready after a success',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:1.36', readinessProbe: { exec: { command: ['cat', '/ready'] }, initialDelaySeconds: 5, periodSeconds: 10 } }] });
      const c = ctr({ name: 'app', startedAtMs: T0 });
      let r = plan(p, view([c]), memory(), T0 + S);
      assert.deepEqual(r.actions, []);
      assert.equal(r.requeueAfterMs, 4 * S);
      assert.equal(cs(r, 'app')?.ready, false);
      r = plan(p, view([c]), memory(), T0 + 5 * S);
      assert.deepEqual(r.actions, [{ type: 'probe', container: 'app', containerId: 'app-0', command: ['cat', '/ready'], timeoutSeconds: 1 }]);
      const probes = new Map([['app-0', { ready: true, consecutiveSuccesses: 1, consecutiveFailures: 0, lastProbeMs: T0 + 5 * S }]]);
      r = plan(p, view([c]), memory({ probes }), T0 + 6 * S);
      assert.deepEqual(r.actions, []);
      assert.equal(r.requeueAfterMs, 9 * S);
      assert.equal(cs(r, 'app')?.ready, true);
      assert.equal(cond(r, 'Ready')?.status, 'True');
    },
  },
  {
    name: 'in-place image change: kill with "definition changed", then start attempt 1 whatever the policy, without back-off',
    run() {
      const p = pod({ restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox:1.37' }, { name: 'side', image: 'busybox:1.36' }] });
      const side = ctr({ name: 'side' });
      let r = plan(p, view([ctr({ name: 'app' }), side]));
      assert.deepEqual(r.actions, [{
        type: 'kill', container: 'app', containerId: 'app-0', reason: 'Container app definition changed, will be restarted',
        gracePeriodSeconds: 30, restartAfter: true,
      }]);
      assert.equal(cs(r, 'app')?.image, 'busybox:1.36', 'the status shows the image that runs');
      const killed = exited('app', 0, 143, T0);
      r = plan(p, view([killed, side]), memory({ restartAfterKill: new Set(['app-0']) }), T0 + 10);
      assert.deepEqual(r.actions, [{ type: 'pullImage', container: 'app', image: 'busybox:1.37', policy: 'IfNotPresent' }]);
      r = plan(p, view([killed, side], { presentImages: new Set(['busybox:1.37']) }), memory({ restartAfterKill: new Set(['app-0']) }), T0 + 20);
      assert.deepEqual(types(r), ['createAndStart']);
      assert.equal(r.actions[0]?.type === 'createAndStart' && r.actions[0].attempt, 1);
      assert.equal(r.containerBackoffs.size, 0);
      const started = plan(p, view([ctr({ name: 'app', attempt: 1, specImage: 'busybox:1.37', startedAtMs: T0 + 30 }), killed, side]), memory(), T0 + 40);
      assert.equal(cs(started, 'app')?.restartCount, 1);
      assert.equal(cs(started, 'app')?.lastState?.terminated?.exitCode, 143);
      assert.equal(cs(started, 'side')?.restartCount, 0);
    },
  },
  {
    name: 'deletion: kill with preStop within what is left of the grace period, remove the sandbox, then delete the pod object',
    run() {
      const deleting = pod(
        { containers: [{ name: 'app', image: 'busybox:1.36', lifecycle: { preStop: { exec: { command: ['sh', '-c', 'drain'] } } } }] },
        { deletionTimestamp: rfc3339(T0 + 10 * S), deletionGracePeriodSeconds: 30 },
      );
      let r = plan(deleting, view([ctr({ name: 'app' })]));
      assert.equal(r.lifecycle, 'terminating');
      assert.deepEqual(r.actions, [{
        type: 'kill', container: 'app', containerId: 'app-0', reason: 'Stopping container app', gracePeriodSeconds: 10,
        restartAfter: false, preStop: ['sh', '-c', 'drain'],
      }]);
      // Near the deadline: kubelet's 2 s minimum.
      r = plan(deleting, view([ctr({ name: 'app' })]), memory(), T0 + 9_500);
      assert.equal(r.actions[0]?.type === 'kill' && r.actions[0].gracePeriodSeconds, 2);
      // A kill in flight: wait for it.
      r = plan(deleting, view([ctr({ name: 'app' })]), memory({ killing: new Set(['app-0']) }));
      assert.deepEqual(r.actions, []);
      // Stopped: the final status is written (terminated, not restarted) and the sandbox goes.
      r = plan(deleting, view([exited('app', 0, 143, T0 + S)]), memory(), T0 + 2 * S);
      assert.deepEqual(r.actions, [{ type: 'removeSandbox', sandboxId: 'sb-0' }]);
      assert.equal(cs(r, 'app')?.state?.terminated?.exitCode, 143);
      // Nothing left: delete the pod object, write nothing more.
      r = plan(deleting, view([], { sandboxes: [] }), memory(), T0 + 3 * S);
      assert.deepEqual(r.actions, [{ type: 'deletePodObject', uid: 'uid-1' }]);
      assert.equal(r.status, undefined);
      assert.equal(r.lifecycle, 'terminated');
    },
  },
  {
    name: 'a pod gone from the API is stopped at once, without preStop, and nothing is written',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:1.36', lifecycle: { preStop: { exec: { command: ['x'] } } } }] });
      let r = plan(p, view([ctr({ name: 'app' })]), memory(), T0, true);
      assert.deepEqual(r.actions, [{
        type: 'kill', container: 'app', containerId: 'app-0', reason: 'Stopping container app', gracePeriodSeconds: 0, restartAfter: false,
      }]);
      assert.equal(r.status, undefined);
      r = plan(p, view([], { sandboxes: [] }), memory(), T0, true);
      assert.deepEqual([r.actions, r.lifecycle], [[], 'finished']);
    },
  },
  {
    name: 'condition transition times are kept while a condition keeps its status, and move when it changes',
    run() {
      const earlier = rfc3339(T0 - 3600 * S);
      const status = {
        phase: 'Running' as const,
        conditions: [
          { type: 'Ready', status: 'True' as const, lastTransitionTime: earlier },
          { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: earlier },
        ],
        startTime: earlier,
      };
      let r = plan(pod({}, {}, status), view([ctr({ name: 'app' })]));
      assert.equal(cond(r, 'Ready')?.lastTransitionTime, earlier);
      assert.equal(cond(r, 'PodScheduled')?.lastTransitionTime, earlier);
      assert.equal(cond(r, 'ContainersReady')?.lastTransitionTime, rfc3339(T0));
      assert.equal(r.status?.startTime, earlier);
      r = plan(pod({}, {}, status), view([exited('app', 0, 1, T0 - S)], { presentImages: new Set(['busybox:1.36']) }), memory(), T0 + 5 * S);
      assert.equal(cond(r, 'Ready')?.status, 'False');
      assert.equal(cond(r, 'Ready')?.lastTransitionTime, rfc3339(T0 + 5 * S));
    },
  },
  {
    name: 'container status fields: image, imageID, containerID with the runtime scheme, started, running startedAt',
    run() {
      const r = plan(pod(), view([ctr({ name: 'app', startedAtMs: T0 - 1500 })]));
      assert.deepEqual(cs(r, 'app'), {
        name: 'app', image: 'busybox:1.36', imageID: DIGEST, restartCount: 0, containerID: 'kruise-ts://app-0',
        state: { running: { startedAt: rfc3339(T0 - 1500) } }, ready: true, started: true,
      });
      assert.equal(r.status?.phase, 'Running');
      assert.deepEqual(r.status?.['podIPs'], [{ ip: '10.0.0.7' }]);
    },
  },
  {
    name: 'in-place restart of a probe-less container keeps ContainersReady: kill, start and postStart publish nothing new',
    run() {
      const hook = { postStart: { exec: { command: ['sleep', '1'] } } };
      const spec = (image: string): Partial<PodSpec> => ({
        containers: [{ name: 'app', image: 'busybox:1.36' }, { name: 'proxy', image, lifecycle: hook }],
      });
      const app = ctr({ name: 'app' });
      const old = ctr({ name: 'proxy', specImage: 'proxy:1' });
      const present = { presentImages: new Set(['proxy:2']) };
      // Steady state on proxy:1, published.
      const steady = plan(pod(spec('proxy:1')), view([app, old]));
      assert.equal(cond(steady, 'ContainersReady')?.status, 'True');
      const published = pod(spec('proxy:2'), {}, steady.status);
      const stays = (r: PodSyncPlan, step: string): void => {
        assert.deepEqual(cs(r, 'proxy'), cs(steady, 'proxy'), `${step}: the published proxy status is kept`);
        assert.deepEqual(r.status?.conditions, steady.status?.conditions, `${step}: conditions unchanged`);
      };
      // Step 1: the image changed: kill, to be started again.
      let r = plan(published, view([app, old], present));
      assert.deepEqual(types(r), ['kill']);
      stays(r, 'kill planned');
      // Step 2: the kill runs.
      r = plan(published, view([app, old], present), memory({ killing: new Set(['proxy-0']), restartAfterKill: new Set(['proxy-0']) }), T0 + 10);
      assert.deepEqual(r.actions, []);
      stays(r, 'kill in flight');
      // Step 3: dead; its start is planned in the same kubelet sync.
      const dead = exited('proxy', 0, 143, T0 + 20, { specImage: 'proxy:1' });
      r = plan(published, view([app, dead], present), memory({ restartAfterKill: new Set(['proxy-0']) }), T0 + 30);
      assert.deepEqual(types(r), ['createAndStart']);
      stays(r, 'dead, start planned');
      // Step 4: running, postStart pending then running.
      const fresh = ctr({ name: 'proxy', attempt: 1, specImage: 'proxy:2', startedAtMs: T0 + 40, imageRef: 'proxy@sha256:2' });
      for (const phase of ['pending', 'running'] as const) {
        r = plan(published, view([app, fresh, dead], present), memory({ hooks: new Map([['proxy-1', { phase }]]) }), T0 + 50);
        stays(r, `postStart ${phase}`);
      }
      // Step 5: the hook returned: the new container shows, running and ready, restartCount + 1.
      r = plan(published, view([app, fresh, dead], present), memory({ hooks: new Map([['proxy-1', { phase: 'succeeded' }]]) }), T0 + 1100);
      const now = cs(r, 'proxy');
      assert.equal(now?.ready, true);
      assert.equal(now?.restartCount, 1);
      assert.equal(now?.image, 'proxy:2');
      assert.equal(now?.imageID, 'proxy@sha256:2');
      assert.equal(now?.containerID, 'kruise-ts://proxy-1');
      assert.equal(now?.lastState?.terminated?.exitCode, 143);
      assert.equal(cond(r, 'ContainersReady')?.status, 'True');
      assert.equal(cond(r, 'Ready')?.lastTransitionTime, cond(steady, 'Ready')?.lastTransitionTime);
    },
  },
  {
    name: 'in-place restart of a container with a readiness probe goes not-ready until the probe passes',
    run() {
      const probe = { exec: { command: ['cat', '/ready'] }, periodSeconds: 10 };
      const spec = (image: string): Partial<PodSpec> => ({ containers: [{ name: 'proxy', image, readinessProbe: probe }] });
      const old = ctr({ name: 'proxy', specImage: 'proxy:1' });
      const probes = new Map([['proxy-0', { ready: true, consecutiveSuccesses: 1, consecutiveFailures: 0, lastProbeMs: T0 - S }]]);
      const steady = plan(pod(spec('proxy:1')), view([old]), memory({ probes }));
      assert.equal(cond(steady, 'Ready')?.status, 'True');
      const published = pod(spec('proxy:2'), {}, steady.status);
      const present = { presentImages: new Set(['proxy:2']) };
      // The kill and the start are still one kubelet sync: the published status is kept.
      const dead = exited('proxy', 0, 143, T0, { specImage: 'proxy:1' });
      let r = plan(published, view([dead], present), memory({ restartAfterKill: new Set(['proxy-0']) }), T0 + 10);
      assert.deepEqual(types(r), ['createAndStart']);
      assert.equal(cond(r, 'Ready')?.status, 'True');
      // Started: a new container id, so the prober starts from not-ready.
      const fresh = ctr({ name: 'proxy', attempt: 1, specImage: 'proxy:2', startedAtMs: T0 + 20 });
      r = plan(published, view([fresh, dead], present), memory(), T0 + 30);
      assert.deepEqual(types(r), ['probe']);
      assert.equal(cs(r, 'proxy')?.ready, false);
      assert.equal(cs(r, 'proxy')?.restartCount, 1);
      assert.deepEqual([cond(r, 'ContainersReady')?.status, cond(r, 'Ready')?.status], ['False', 'False']);
      // The probe passed.
      const passed = new Map([['proxy-1', { ready: true, consecutiveSuccesses: 1, consecutiveFailures: 0, lastProbeMs: T0 + 30 }]]);
      r = plan(published, view([fresh, dead], present), memory({ probes: passed }), T0 + 40);
      assert.equal(cs(r, 'proxy')?.ready, true);
      assert.deepEqual([cond(r, 'ContainersReady')?.status, cond(r, 'Ready')?.status], ['True', 'True']);
    },
  },
  {
    name: 'a restart that fails to pull shows ErrImagePull instead of the published status',
    run() {
      const p = pod({ containers: [{ name: 'app', image: 'busybox:1.37' }] },
        {}, plan(pod(), view([ctr({ name: 'app' })])).status);
      const dead = exited('app', 0, 143, T0);
      const mem = memory({
        restartAfterKill: new Set(['app-0']), reasons: new Map([['app', { reason: 'ErrImagePull', message: 'not found' }]]),
        imageBackoffs: new Map([['busybox:1.37', { backoffMs: 10 * S, lastUpdateMs: T0 }]]),
      });
      const r = plan(p, view([dead]), mem, T0 + S);
      assert.deepEqual(cs(r, 'app')?.state, { waiting: { reason: 'ErrImagePull', message: 'not found' } });
      assert.equal(cs(r, 'app')?.ready, false);
      assert.equal(cond(r, 'Ready')?.status, 'False');
    },
  },
];

describe('pod sync planner', () => {
  for (const row of rows) it(row.name, () => row.run());
});

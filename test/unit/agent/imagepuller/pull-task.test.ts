/**
 * The pure half of the image puller (spec §4.6): the planner's table, the task state machine, the attempt and
 * backoff arithmetic, the deadline, and the status it builds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageTagSpec, ImageTagStatus, NodeImageSpec, NodeImageStatus } from '../../../../src/api/nodeimage-types.js';
import {
  DEADLINE_MESSAGE, PullTask, attemptBudgetMs, buildNodeImageStatus, compileTagPolicy, decideAfterFailure, formatTime,
  planPulls, pullBackoffMs, pullReference, tagKey, type KnownTask, type PullPlan, type PullTaskInit, type PullTaskState,
} from '../../../../src/agent/imagepuller/pull-task.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function tag(t: string, version = 0, extra: Partial<ImageTagSpec> = {}): ImageTagSpec {
  return { tag: t, version, createdAt: '2026-01-01T00:00:00Z', pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 300 }, ...extra };
}

function st(t: string, phase: ImageTagStatus['phase'], version: number, done: boolean): ImageTagStatus {
  return {
    tag: t, phase, version, startTime: '2026-01-01T00:00:00Z',
    ...(done ? { completionTime: '2026-01-01T00:00:10Z' } : {}),
  };
}

function known(...tasks: KnownTask[]): Map<string, KnownTask> {
  return new Map(tasks.map((t) => [tagKey(t.image, t.tag), t]));
}

/** A compact view of a plan for table assertions. */
function summary(p: PullPlan): Record<string, string[]> {
  return {
    start: p.start.map((s) => `${s.image}:${s.tag}@${s.version}${s.resumeStartTime ? ' (resume)' : ''}`),
    stop: p.stop.map((s) => `${s.key} ${s.reason}`),
    adopt: p.adopt.map((a) => `${a.image}:${a.tag} ${a.status.phase}`),
    drop: p.drop.map((d) => `${d.image}:${d.tag}`),
  };
}

interface PlanRow {
  name: string;
  spec: NodeImageSpec;
  status?: NodeImageStatus;
  known?: Map<string, KnownTask>;
  want: Record<string, string[]>;
}

const none = { start: [], stop: [], adopt: [], drop: [] };

const rows: PlanRow[] = [
  {
    name: 'a new tag without status is started',
    spec: { images: { nginx: { tags: [tag('1.25')] } } },
    want: { ...none, start: ['nginx:1.25@0'] },
  },
  {
    name: 'a completed status of the same version is adopted, not pulled again',
    spec: { images: { nginx: { tags: [tag('1.25', 2)] } } },
    status: { desired: 1, succeeded: 1, failed: 0, pulling: 0, imageStatuses: { nginx: { tags: [st('1.25', 'Succeeded', 2, true)] } } },
    want: { ...none, adopt: ['nginx:1.25 Succeeded'] },
  },
  {
    name: 'a failed status of the same version is adopted as well',
    spec: { images: { nginx: { tags: [tag('1.25', 2)] } } },
    status: { desired: 1, succeeded: 0, failed: 1, pulling: 0, imageStatuses: { nginx: { tags: [st('1.25', 'Failed', 2, true)] } } },
    want: { ...none, adopt: ['nginx:1.25 Failed'] },
  },
  {
    name: 'a completed status of an older version starts a new round',
    spec: { images: { nginx: { tags: [tag('1.25', 3)] } } },
    status: { desired: 1, succeeded: 1, failed: 0, pulling: 0, imageStatuses: { nginx: { tags: [st('1.25', 'Succeeded', 2, true)] } } },
    want: { ...none, start: ['nginx:1.25@3'] },
  },
  {
    name: 'an unfinished status of the same version is resumed (restart mid-pull)',
    spec: { images: { nginx: { tags: [tag('1.25', 1)] } } },
    status: { desired: 1, succeeded: 0, failed: 0, pulling: 1, imageStatuses: { nginx: { tags: [st('1.25', 'Pulling', 1, false)] } } },
    want: { ...none, start: ['nginx:1.25@1 (resume)'] },
  },
  {
    name: 'a running task of the same version is kept',
    spec: { images: { nginx: { tags: [tag('1.25', 1)] } } },
    status: { desired: 1, succeeded: 0, failed: 0, pulling: 1, imageStatuses: { nginx: { tags: [st('1.25', 'Pulling', 1, false)] } } },
    known: known({ image: 'nginx', tag: '1.25', version: 1, finished: false }),
    want: none,
  },
  {
    name: 'a finished task whose result is not written yet is kept, not restarted',
    spec: { images: { nginx: { tags: [tag('1.25', 1)] } } },
    status: { desired: 1, succeeded: 0, failed: 0, pulling: 1, imageStatuses: { nginx: { tags: [st('1.25', 'Pulling', 1, false)] } } },
    known: known({ image: 'nginx', tag: '1.25', version: 1, finished: true }),
    want: none,
  },
  {
    name: 'a version change stops the running task and starts the new version',
    spec: { images: { nginx: { tags: [tag('1.25', 2)] } } },
    status: { desired: 1, succeeded: 0, failed: 0, pulling: 1, imageStatuses: { nginx: { tags: [st('1.25', 'Pulling', 1, false)] } } },
    known: known({ image: 'nginx', tag: '1.25', version: 1, finished: false }),
    want: { ...none, start: ['nginx:1.25@2'], stop: ['nginx|1.25 VersionChanged'] },
  },
  {
    name: 'a tag removed from spec stops its task and drops its status',
    spec: { images: { nginx: { tags: [tag('1.26')] } } },
    status: { desired: 1, succeeded: 0, failed: 0, pulling: 1, imageStatuses: { nginx: { tags: [st('1.25', 'Pulling', 0, false)] } } },
    known: known({ image: 'nginx', tag: '1.25', version: 0, finished: false }),
    want: { ...none, start: ['nginx:1.26@0'], stop: ['nginx|1.25 TagRemoved'], drop: ['nginx:1.25'] },
  },
  {
    name: 'a removed image drops every status of it',
    spec: { images: {} },
    status: { desired: 2, succeeded: 2, failed: 0, pulling: 0, imageStatuses: { redis: { tags: [st('6', 'Succeeded', 0, true), st('7', 'Succeeded', 0, true)] } } },
    want: { ...none, drop: ['redis:6', 'redis:7'] },
  },
  {
    name: 'a running task whose version someone else completed is stopped and the status adopted',
    spec: { images: { nginx: { tags: [tag('1.25', 1)] } } },
    status: { desired: 1, succeeded: 0, failed: 1, pulling: 0, imageStatuses: { nginx: { tags: [{ ...st('1.25', 'Failed', 1, true), message: 'node has not responded for a long time' }] } } },
    known: known({ image: 'nginx', tag: '1.25', version: 1, finished: false }),
    want: { ...none, stop: ['nginx|1.25 CompletedElsewhere'], adopt: ['nginx:1.25 Failed'] },
  },
  {
    name: 'a tag without a version counts as version 0',
    spec: { images: { nginx: { tags: [{ tag: 'latest' }] } } },
    status: { desired: 1, succeeded: 1, failed: 0, pulling: 0, imageStatuses: { nginx: { tags: [{ tag: 'latest', phase: 'Succeeded', completionTime: '2026-01-01T00:00:10Z' }] } } },
    want: { ...none, adopt: ['nginx:latest Succeeded'] },
  },
];

describe('planPulls', () => {
  for (const row of rows) {
    it(`should plan: ${row.name}`, () => {
      assert.deepEqual(summary(planPulls(row.spec, row.status, row.known ?? new Map())), row.want);
    });
  }

  it('should walk a tag through two versions, row by row (scenario)', () => {
    const spec1: NodeImageSpec = { images: { app: { tags: [tag('v1', 0)] } } };
    // step 1/4: nothing known → start v1@0
    assert.deepEqual(summary(planPulls(spec1, undefined, new Map())).start, ['app:v1@0']);
    // step 2/4: the task finished, the status is written → adopt on a fresh agent, keep on this one
    const done: NodeImageStatus = { desired: 1, succeeded: 1, failed: 0, pulling: 0, imageStatuses: { app: { tags: [st('v1', 'Succeeded', 0, true)] } } };
    assert.deepEqual(summary(planPulls(spec1, done, new Map())), { ...none, adopt: ['app:v1 Succeeded'] });
    assert.deepEqual(summary(planPulls(spec1, done, known({ image: 'app', tag: 'v1', version: 0, finished: true }))), none);
    // step 3/4: a second job bumps the version → the finished task is replaced by a new round
    const spec2: NodeImageSpec = { images: { app: { tags: [tag('v1', 1)] } } };
    assert.deepEqual(summary(planPulls(spec2, done, known({ image: 'app', tag: 'v1', version: 0, finished: true }))),
      { ...none, start: ['app:v1@1'], stop: ['app|v1 VersionChanged'] });
    // step 4/4: both jobs gone → tag removed, status dropped
    assert.deepEqual(summary(planPulls({ images: {} }, done, known({ image: 'app', tag: 'v1', version: 1, finished: true }))),
      { ...none, stop: ['app|v1 TagRemoved'], drop: ['app:v1'] });
  });

  it('should carry the image pull secrets into the start', () => {
    const p = planPulls({ images: { 'registry.auth.kruise-ts.test/app': { pullSecrets: [{ namespace: 'kruise-system', name: 's' }], tags: [tag('1')] } } }, undefined, new Map());
    assert.deepEqual(p.start[0]?.pullSecrets, [{ namespace: 'kruise-system', name: 's' }]);
  });
});

function init(extra: Partial<PullTaskInit> = {}): PullTaskInit {
  return {
    image: 'nginx', tag: '1.25', version: 1, policy: compileTagPolicy(tag('1.25')), pullSecrets: [], ownerReferences: [],
    startTime: formatTime(T0), resumed: false, ...extra,
  };
}

describe('PullTask state machine', () => {
  it('should go Waiting → Pulling → Succeeded and report imageID as <name>@<runtime image id>', () => {
    const task = new PullTask(init());
    assert.equal(task.toStatus()?.phase, 'Waiting');
    assert.ok(task.transition(['Waiting'], 'Pulling'));
    assert.ok(task.beginAttempt());
    assert.ok(task.succeed('sha256:abc', T0 + 5_000));
    assert.deepEqual(task.toStatus(), {
      tag: '1.25', phase: 'Succeeded', progress: 100, startTime: '2026-01-01T00:00:00Z', version: 1,
      completionTime: '2026-01-01T00:00:05Z', imageID: 'nginx@sha256:abc',
    });
  });

  it('should refuse illegal moves and tell the observer', () => {
    const seen: [PullTaskState, PullTaskState, boolean][] = [];
    const task = new PullTask(init(), (_t, from, to, ok) => seen.push([from, to, ok]));
    assert.equal(task.succeed('sha256:abc', T0), false, 'Waiting cannot succeed without pulling');
    assert.equal(task.transition(['Pulling'], 'Failed'), false, 'from-list does not contain Waiting');
    assert.ok(task.transition(['Waiting'], 'Pulling'));
    assert.ok(task.fail('boom', T0));
    assert.equal(task.transition(['Failed'], 'Pulling'), false, 'Failed is final');
    assert.equal(task.stop(), false, 'a finished task cannot be stopped');
    assert.deepEqual(seen, [
      ['Waiting', 'Succeeded', false], ['Waiting', 'Failed', false], ['Waiting', 'Pulling', true],
      ['Pulling', 'Failed', true], ['Failed', 'Pulling', false], ['Failed', 'Stopped', false],
    ]);
  });

  it('should record nothing once stopped', () => {
    const task = new PullTask(init());
    assert.ok(task.transition(['Waiting'], 'Pulling'));
    assert.ok(task.stop());
    assert.equal(task.toStatus(), undefined);
  });

  it('should show the last error while retrying, and keep it as the failure message', () => {
    const task = new PullTask(init());
    task.transition(['Waiting'], 'Pulling');
    task.beginAttempt();
    task.recordRetry('CRI PullImage: NOT_FOUND: not found');
    assert.equal(task.toStatus()?.message, 'CRI PullImage: NOT_FOUND: not found');
    assert.equal(task.toStatus()?.phase, 'Pulling');
    task.fail(DEADLINE_MESSAGE, T0 + 1000);
    assert.equal(task.toStatus()?.message, DEADLINE_MESSAGE);
    assert.equal(task.toStatus()?.progress, 0);
  });

  it('should count at most backoffLimit + 1 attempts', () => {
    const task = new PullTask(init({ policy: compileTagPolicy(tag('1.25', 0, { pullPolicy: { backoffLimit: 1 } })) }));
    task.transition(['Waiting'], 'Pulling');
    assert.ok(task.beginAttempt());
    assert.ok(task.beginAttempt());
    assert.equal(task.beginAttempt(), false);
    assert.equal(task.attempts, 2);
  });
});

describe('pull policy arithmetic', () => {
  it('should wait 1, 2, 4, 8, 16, then 30 s between attempts', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => pullBackoffMs(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('should scale the backoff base and cap when given', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => pullBackoffMs(n, { baseMs: 10, capMs: 35 })), [10, 20, 35, 35]);
  });

  it('should make attempts = backoffLimit + 1, and 4 for a negative or absent backoffLimit', () => {
    assert.equal(compileTagPolicy(tag('x', 0, { pullPolicy: { backoffLimit: 0 } })).maxAttempts, 1);
    assert.equal(compileTagPolicy(tag('x', 0, { pullPolicy: { backoffLimit: 5 } })).maxAttempts, 6);
    assert.equal(compileTagPolicy(tag('x', 0, { pullPolicy: { backoffLimit: -1 } })).maxAttempts, 4);
    assert.equal(compileTagPolicy({ tag: 'x' }).maxAttempts, 4);
  });

  it('should default the attempt timeout to 600 s and fall back to it for a non-positive timeoutSeconds', () => {
    assert.equal(compileTagPolicy({ tag: 'x' }).attemptTimeoutMs, 600_000);
    assert.equal(compileTagPolicy(tag('x', 0, { pullPolicy: { timeoutSeconds: 0 } })).attemptTimeoutMs, 600_000);
    assert.equal(compileTagPolicy(tag('x', 0, { pullPolicy: { timeoutSeconds: 50 } })).attemptTimeoutMs, 50_000);
  });

  it('should read imagePullPolicy Always from the tag when the field is there', () => {
    assert.equal(compileTagPolicy({ tag: 'x', imagePullPolicy: 'Always' }).imagePullPolicy, 'Always');
    assert.equal(compileTagPolicy({ tag: 'x' }).imagePullPolicy, 'IfNotPresent');
  });

  it('should shorten the last attempt to end at the deadline, and report a passed deadline', () => {
    const policy = compileTagPolicy(tag('x', 0, { pullPolicy: { timeoutSeconds: 60, activeDeadlineSeconds: 100 } }));
    const deadline = T0 + 100_000;
    assert.equal(attemptBudgetMs(T0, policy, deadline), 60_000);
    assert.equal(attemptBudgetMs(T0 + 70_000, policy, deadline), 30_000);
    assert.equal(attemptBudgetMs(T0 + 100_000, policy, deadline), 'deadline');
    assert.equal(attemptBudgetMs(T0 + 10 ** 9, policy, undefined), 60_000);
  });

  it('should fail with the last error when attempts are used up, and with the deadline message past the deadline', () => {
    const policy = compileTagPolicy(tag('x', 0, { pullPolicy: { backoffLimit: 2, activeDeadlineSeconds: 10 } }));
    const base = { policy, deadlineAtMs: T0 + 10_000, message: 'boom', retryable: true };
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 1, nowMs: T0 }), { kind: 'retry', delayMs: 1000 });
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 2, nowMs: T0 + 1000 }), { kind: 'retry', delayMs: 2000 });
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 3, nowMs: T0 + 3000 }), { kind: 'fail', message: 'boom' });
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 1, nowMs: T0 + 10_000 }), { kind: 'fail', message: DEADLINE_MESSAGE });
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 2, nowMs: T0 + 9_500 }), { kind: 'retry', delayMs: 500 }, 'never sleeps past the deadline');
    assert.deepEqual(decideAfterFailure({ ...base, attempts: 1, nowMs: T0, retryable: false }), { kind: 'fail', message: 'boom' });
  });

  it('should pull digests by @ and tags by :', () => {
    assert.equal(pullReference('nginx', '1.25'), 'nginx:1.25');
    assert.equal(pullReference('nginx', `sha256:${'a'.repeat(64)}`), `nginx@sha256:${'a'.repeat(64)}`);
    assert.equal(pullReference('localhost:5000/app', 'v1'), 'localhost:5000/app:v1');
  });
});

describe('buildNodeImageStatus', () => {
  it('should count desired from spec, sort tags, drop entries not in spec and count unfinished as pulling', () => {
    const spec: NodeImageSpec = { images: { nginx: { tags: [tag('b'), tag('a'), tag('c')] }, redis: { tags: [tag('7')] } } };
    const entries = new Map<string, ImageTagStatus>([
      [tagKey('nginx', 'c'), st('c', 'Failed', 0, true)],
      [tagKey('nginx', 'a'), st('a', 'Succeeded', 0, true)],
      [tagKey('nginx', 'b'), st('b', 'Waiting', 0, false)],
      [tagKey('redis', '7'), st('7', 'Pulling', 0, false)],
      [tagKey('gone', '1'), st('1', 'Succeeded', 0, true)],
    ]);
    const s = buildNodeImageStatus(spec, entries, { desired: 0, succeeded: 0, failed: 0, pulling: 0, firstSyncStatus: { status: 'Succeeded' } });
    assert.equal(s.desired, 4);
    assert.equal(s.succeeded, 1);
    assert.equal(s.failed, 1);
    assert.equal(s.pulling, 2);
    assert.deepEqual(s.imageStatuses?.['nginx']?.tags.map((t) => t.tag), ['a', 'b', 'c']);
    assert.equal(s.imageStatuses?.['gone'], undefined);
    assert.deepEqual(s.firstSyncStatus, { status: 'Succeeded' });
  });

  it('should leave imageStatuses out when there is nothing to report', () => {
    assert.deepEqual(buildNodeImageStatus({ images: { nginx: { tags: [tag('1')] } } }, new Map()), { desired: 1, succeeded: 0, failed: 0, pulling: 0 });
  });
});

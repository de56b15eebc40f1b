/**
 * Leader election between several candidates on one embedded API server, with short durations (lease 1.5 s, renew
 * deadline 1 s, retry 0.2 s) and server-side fault injection per candidate (by user agent) to make renewals fail
 * or hang.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KruiseError } from '../../../src/api/errors.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { compileLeaderElectorOptions, formatMicroTime, LeaderElector, type Lease } from '../../../src/kube/leader-election.js';
import { resources } from '../../../src/kube/resource-ref.js';
import type { FaultAction, FaultInjector, FaultRequestInfo } from '../../../src/sandbox/apiserver/http/fault-injection.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';
import { uniqueName } from '../../support/integration-helpers.js';

const LEASE_MS = 1500;
const RENEW_MS = 1000;
const RETRY_MS = 200;
const NS = 'kube-system';

/** Per-candidate faults on Lease requests, chosen by the test. */
class LeaseFaults implements FaultInjector {
  readonly byUserAgent = new Map<string, FaultAction>();
  beforeRequest(info: FaultRequestInfo): FaultAction {
    if (!info.path.includes('/leases')) return { kind: 'none' };
    return this.byUserAgent.get(info.userAgent) ?? { kind: 'none' };
  }
}

/** Which candidate reconciled, in order: a deposed leader must never appear after its successor. */
type Ledger = string[];

interface Candidate {
  id: string;
  userAgent: string;
  elector: LeaderElector;
  client: KubeClient;
  stop: AbortController;
  run: Promise<void>;
  leadingSignal: AbortSignal | undefined;
  startedAt: number | undefined;
  stoppedAt: number | undefined;
  stoppedCalls: number;
  reconciles: number;
  newLeaders: string[];
}

describe('leader election with a coordination.k8s.io/v1 Lease', () => {
  let h: Harness;
  const faults = new LeaseFaults();
  const candidates: Candidate[] = [];

  let testClient: KubeClient;
  before(async () => {
    h = await startHarness({ crds: false, faults });
    testClient = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (test)' });
  });
  afterEach(async () => {
    faults.byUserAgent.clear();
    for (const c of candidates) c.stop.abort();
    await Promise.all(candidates.map((c) => c.run));
    for (const c of candidates) c.client.close();
    candidates.length = 0;
  });
  after(async () => { testClient.close(); await h.close(); });

  function candidate(id: string, lease: string, ledger: Ledger = []): Candidate {
    const userAgent = `kruise-ts/test (${id})`;
    const client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent });
    const c = { id, userAgent, client, stop: new AbortController(), stoppedCalls: 0, reconciles: 0, newLeaders: [] } as unknown as Candidate;
    c.elector = new LeaderElector({
      client, namespace: NS, name: lease, identity: id, leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_MS, retryPeriodMs: RETRY_MS,
      onStartedLeading: async (signal) => {
        c.leadingSignal = signal;
        c.startedAt = Date.now();
        // A tiny reconcile loop that, like the real controllers, checks its signal before every reconcile.
        while (!signal.aborted) {
          c.reconciles++;
          ledger.push(id);
          await sleep(10, undefined, { signal }).catch(() => undefined);
        }
      },
      onStoppedLeading: () => { c.stoppedCalls++; c.stoppedAt = Date.now(); },
      onNewLeader: (leader) => { c.newLeaders.push(leader); },
    });
    c.run = c.elector.run(c.stop.signal);
    candidates.push(c);
    return c;
  }

  const getLease = (name: string): Promise<Lease> => testClient.get<Lease>(resources.leases, NS, name);
  const leaders = (cs: Candidate[]): Candidate[] => cs.filter((c) => c.elector.isLeader());
  const waitForLeader = (cs: Candidate[]): Promise<Candidate> => waitFor(() => leaders(cs)[0], 'a leader');

  it('defaults to a 15 s lease, 10 s renew deadline and 2 s retry period, and rejects unsafe timings', () => {
    const base = { client: {} as never, namespace: NS, name: 'x', identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    const o = compileLeaderElectorOptions(base);
    assert.equal(o.leaseDurationMs, 15_000);
    assert.equal(o.renewDeadlineMs, 10_000);
    assert.equal(o.retryPeriodMs, 2_000);
    assert.equal(o.releaseOnCancel, true);
    const invalid = (e: unknown): boolean => KruiseError.is(e) && e.reason === 'Invalid';
    assert.throws(() => compileLeaderElectorOptions({ ...base, leaseDurationMs: 10_000 }), invalid);
    assert.throws(() => compileLeaderElectorOptions({ ...base, retryPeriodMs: 9_000 }), invalid);
    assert.throws(() => compileLeaderElectorOptions({ ...base, identity: '' }), invalid);
    assert.equal(formatMicroTime(Date.UTC(2006, 0, 2, 15, 4, 5, 7) + 0.25), '2006-01-02T15:04:05.007250Z');
  });

  it('exactly one of two candidates holds the lease and reconciles', async () => {
    const lease = uniqueName('one-leader');
    const a = candidate('a', lease);
    const b = candidate('b', lease);
    const leader = await waitForLeader([a, b]);
    const follower = leader === a ? b : a;
    // Several renewals later it is still the only leader, and the follower never reconciled.
    const first = (await getLease(lease)).spec?.renewTime;
    await waitFor(async () => (await getLease(lease)).spec?.renewTime !== first, 'a renewal');
    assert.deepEqual(leaders([a, b]), [leader]);
    assert.equal(follower.reconciles, 0);
    assert.ok(leader.reconciles > 0);
    const l = await getLease(lease);
    assert.equal(l.spec?.holderIdentity, leader.id);
    assert.equal(l.spec?.leaseDurationSeconds, 2, '1.5 s is written as whole seconds, rounded up');
    assert.equal(l.spec?.leaseTransitions, 0);
    assert.match(l.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await waitFor(() => follower.newLeaders.includes(leader.id), 'the follower to report the new leader');
    assert.equal(follower.elector.readinessCheck()(), true, 'a standby is ready');
    assert.equal(leader.elector.readinessCheck()(), true);
  });

  it('releases the lease on a clean shutdown: holder cleared, leaseDurationSeconds 1, transitions kept', async () => {
    const lease = uniqueName('release');
    const a = candidate('a', lease);
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    a.stop.abort();
    await a.run;
    assert.equal(a.leadingSignal?.aborted, true);
    assert.equal(a.stoppedCalls, 1);
    assert.equal(a.elector.isLeader(), false);
    const l = await getLease(lease);
    assert.equal(l.spec?.holderIdentity, '');
    assert.equal(l.spec?.leaseDurationSeconds, 1);
    assert.equal(l.spec?.leaseTransitions, 0);
    assert.equal(l.spec?.acquireTime, l.spec?.renewTime);
  });

  it('when the leader is stopped the other leads within the lease duration', async () => {
    const lease = uniqueName('handover');
    const ledger: Ledger = [];
    const a = candidate('a', lease, ledger);
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const b = candidate('b', lease, ledger);
    await waitFor(() => b.newLeaders.includes('a'), 'b to see a as leader');
    const stoppedAt = Date.now();
    a.stop.abort();
    await a.run;
    await waitFor(() => b.elector.isLeader(), 'b to take over', 5_000);
    assert.ok(b.startedAt! - stoppedAt < LEASE_MS, `took over in ${b.startedAt! - stoppedAt} ms`);
    assert.equal((await getLease(lease)).spec?.leaseTransitions, 1);
    await waitFor(() => b.reconciles > 0, 'b to reconcile');
    assert.equal(ledger.indexOf('a', ledger.indexOf('b')), -1, 'a never reconciled after b started');
  });

  it('a leader whose renewals fail stops leading at once, stops reconciling, and the other takes over', async () => {
    const lease = uniqueName('failing');
    const ledger: Ledger = [];
    const a = candidate('a', lease, ledger);
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const b = candidate('b', lease, ledger);
    await waitFor(() => b.newLeaders.includes('a'), 'b to see a as leader');
    const failingFrom = Date.now();
    faults.byUserAgent.set(a.userAgent, { kind: 'status', code: 503 });

    await waitFor(() => a.stoppedCalls === 1, 'a to step down', 5_000);
    assert.equal(a.leadingSignal?.aborted, true, 'the leading signal is aborted');
    assert.equal(a.elector.isLeader(), false);
    assert.ok(a.stoppedAt! - failingFrom <= RENEW_MS + 2 * RETRY_MS, `stepped down after ${a.stoppedAt! - failingFrom} ms`);
    const reconcilesAtStepDown = a.reconciles;
    await a.run;

    await waitFor(() => b.elector.isLeader(), 'b to take over', 5_000);
    // The lease is written as 2 s; b waits that long after it last saw a renewal, plus up to one jittered retry.
    assert.ok(b.startedAt! - failingFrom < 2_000 + 3 * RETRY_MS * 2.2, `took over after ${b.startedAt! - failingFrom} ms`);
    assert.ok(b.startedAt! > a.stoppedAt!, 'the deposed leader stepped down before the new one started');
    await waitFor(() => b.reconciles > 2, 'b to reconcile');
    assert.equal(a.reconciles, reconcilesAtStepDown, 'a deposed leader stops reconciling');
    assert.equal(ledger.indexOf('a', ledger.indexOf('b')), -1, 'no reconcile of a after b started');
    assert.equal(a.stoppedCalls, 1);
    const l = await getLease(lease);
    assert.equal(l.spec?.holderIdentity, 'b');
    assert.equal(l.spec?.leaseTransitions, 1);
  });

  it('a renewal that hangs still deposes the leader at the renew deadline', async () => {
    const lease = uniqueName('hung');
    const a = candidate('a', lease);
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const hungFrom = Date.now();
    faults.byUserAgent.set(a.userAgent, { kind: 'half-open' });
    await waitFor(() => a.stoppedCalls === 1, 'a to step down', 5_000);
    assert.ok(a.stoppedAt! - hungFrom <= RENEW_MS + 2 * RETRY_MS, `stepped down after ${a.stoppedAt! - hungFrom} ms`);
    assert.equal(a.leadingSignal?.aborted, true);
  });

  it('candidates racing for a new lease elect exactly one, thanks to resourceVersion preconditions', async () => {
    const lease = uniqueName('race');
    const cs = ['a', 'b', 'c', 'd', 'e'].map((id) => candidate(id, lease));
    const leader = await waitForLeader(cs);
    const first = (await getLease(lease)).spec?.renewTime;
    await waitFor(async () => (await getLease(lease)).spec?.renewTime !== first, 'a renewal');
    assert.deepEqual(leaders(cs).map((c) => c.id), [leader.id]);
    assert.deepEqual(cs.filter((c) => c.reconciles > 0).map((c) => c.id), [leader.id]);
  });

  it('takes over an abandoned lease only after watching it unchanged for its duration', async () => {
    const lease = uniqueName('stale');
    // Left by a crashed leader long ago (by its clock): we still wait, since clocks of machines are not compared.
    await testClient.create(resources.leases, {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: lease, namespace: NS },
      spec: { holderIdentity: 'crashed', leaseDurationSeconds: 1, acquireTime: formatMicroTime(0), renewTime: formatMicroTime(0), leaseTransitions: 3 },
    });
    const startedAt = Date.now();
    const a = candidate('a', lease);
    await waitFor(() => a.elector.isLeader(), 'a to take over', 5_000);
    assert.ok(a.startedAt! - startedAt >= 1_000, `waited ${a.startedAt! - startedAt} ms`);
    assert.equal((await getLease(lease)).spec?.leaseTransitions, 4);
    assert.deepEqual(a.newLeaders, ['crashed', 'a']);
  });
});

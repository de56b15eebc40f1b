/**
 * The runtime end to end: a sample controller (it mirrors labelled ConfigMaps) run by two managers on one API
 * server. Exactly one leads and reconciles; when it stops or cannot renew, the other takes over; a deposed
 * leader stops reconciling.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { KubeObject } from '../../../src/api/meta.js';
import {
  Controller, INDEX_NAMESPACE, isAlreadyExists, KubeClient, KubeMetrics, Manager, resources, updateWithRetry,
  type ManagerContext, type Reconciler,
} from '../../../src/kube/index.js';
import type { FaultAction, FaultInjector, FaultRequestInfo } from '../../../src/sandbox/apiserver/http/fault-injection.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';

const NS = 'mirror-test';
const log = pino({ level: 'silent' });

/** The sample controller: for each ConfigMap labelled mirror=yes, keep `<name>-mirror` with the same data. */
function mirrorController(ctx: ManagerContext, counter: { reconciles: number }): Controller {
  const informer = ctx.informers.informerFor(resources.configMaps, { namespace: NS });
  const reconciler: Reconciler = {
    async reconcile(key, { signal }) {
      counter.reconciles++;
      const [ns, name] = key.split('/') as [string, string];
      const source = informer.cache.getByName(ns, name);
      if (!source || source.metadata.labels?.['mirror'] !== 'yes') return;
      const mirrorName = `${name}-mirror`;
      const data = source['data'] ?? {};
      const existing = informer.cache.getByName(ns, mirrorName);
      if (!existing) {
        try {
          await ctx.client.create(resources.configMaps, {
            apiVersion: 'v1', kind: 'ConfigMap', data,
            metadata: { name: mirrorName, namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: source.metadata.uid!, controller: true }] },
          }, signal);
          ctx.recorder.event(source, 'Normal', 'SuccessfulCreate', `created mirror ${mirrorName}`);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        return;
      }
      if (JSON.stringify(existing['data'] ?? {}) !== JSON.stringify(data)) {
        await updateWithRetry(ctx.client, resources.configMaps, ns, mirrorName, (m: KubeObject) => ({ ...m, data }), signal);
      }
    },
  };
  const controller = new Controller({ name: 'config-mirror', reconciler, workers: 2, logger: ctx.logger, metrics: ctx.metrics });
  const enqueue = (o: KubeObject): void => {
    const name = o.metadata.name!.replace(/-mirror$/, '');
    controller.enqueue(`${o.metadata.namespace}/${name}`);
  };
  informer.addHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
  return controller;
}

class PerClientFaults implements FaultInjector {
  readonly failLeaseFor = new Set<string>();
  beforeRequest(info: FaultRequestInfo): FaultAction {
    for (const who of this.failLeaseFor) {
      if (info.userAgent.includes(`(${who})`) && info.path.includes('/leases')) return { kind: 'status', code: 500 };
    }
    return { kind: 'none' };
  }
}

interface Running { manager: Manager; stop: AbortController; done: Promise<unknown>; counter: { reconciles: number }; client: KubeClient; outcome: { error?: unknown } }

describe('Manager with leader election', () => {
  let h: Harness;
  let faults: PerClientFaults;
  let writer: KubeClient;
  const running: Running[] = [];

  before(async () => {
    faults = new PerClientFaults();
    h = await startHarness({ crds: false, faults });
    writer = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (writer)' });
    await writer.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  afterEach(async () => {
    faults.failLeaseFor.clear();
    for (const r of running.splice(0)) { r.stop.abort(); await r.done; r.client.close(); }
  });
  after(async () => { writer.close(); await h.close(); });

  function startManager(identity: string, leaseName: string): Running {
    const client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: `kruise-ts/test (${identity})` });
    const registry = new Registry();
    const counter = { reconciles: 0 };
    const manager = new Manager({
      client, registry, metrics: new KubeMetrics(registry), logger: log, component: 'kruise-ts-test',
      lease: { namespace: 'kube-system', name: leaseName, identity, leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 },
      informerTuning: { initialBackoffMs: 20, maxBackoffMs: 200 },
      controllers: (ctx) => [mirrorController(ctx, counter)],
    });
    const stop = new AbortController();
    const outcome: Running['outcome'] = {};
    const done = manager.start(stop.signal).catch((e: unknown) => { outcome.error = e; });
    const r = { manager, stop, done, counter, client, outcome };
    running.push(r);
    return r;
  }

  const source = (name: string, data: Record<string, string>): KubeObject =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels: { mirror: 'yes' } }, data });

  async function mirrorData(name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await writer.get(resources.configMaps, NS, `${name}-mirror`))['data'] as Record<string, string>;
    } catch { return undefined; }
  }

  it('should let exactly one of two managers lead and reconcile', async () => {
    const a = startManager('coordinator-a', 'lease-one');
    const b = startManager('coordinator-b', 'lease-one');
    const leader = await waitFor(() => [a, b].find((r) => r.manager.state === 'leading'), 'a leader', 10_000);
    const standby = leader === a ? b : a;
    await writer.create(resources.configMaps, source('one', { k: 'v1' }));
    await waitFor(async () => (await mirrorData('one'))?.['k'] === 'v1', 'the mirror of one');
    assert.equal(standby.manager.state, 'standby');
    assert.equal(standby.counter.reconciles, 0, 'the standby never reconciles');
    assert.ok(leader.counter.reconciles > 0);
    // The standby keeps a warm cache all the same.
    await waitFor(() => standby.manager.informers.informerFor(resources.configMaps, { namespace: NS }).cache.byIndex(INDEX_NAMESPACE, NS).length >= 2, 'the standby cache');
  });

  it('should hand over to the standby within the lease duration when the leader stops', async () => {
    const a = startManager('coordinator-c', 'lease-two');
    const b = startManager('coordinator-d', 'lease-two');
    const leader = await waitFor(() => [a, b].find((r) => r.manager.state === 'leading'), 'a leader', 10_000);
    const other = leader === a ? b : a;
    leader.stop.abort();
    await leader.done;
    const stoppedAt = Date.now();
    await waitFor(() => other.manager.state === 'leading', 'the standby to lead', 10_000);
    // A clean stop releases the lease, so the handover is well within the 1.5 s lease duration plus a retry.
    assert.ok(Date.now() - stoppedAt <= 1500 + 500, `took over after ${Date.now() - stoppedAt} ms`);
    await writer.create(resources.configMaps, source('two', { k: 'v2' }));
    await waitFor(async () => (await mirrorData('two'))?.['k'] === 'v2', 'the new leader to mirror two');
  });

  it('should stop a leader that cannot renew, and let the other take over', async () => {
    const a = startManager('coordinator-e', 'lease-three');
    const b = startManager('coordinator-f', 'lease-three');
    const leader = await waitFor(() => [a, b].find((r) => r.manager.state === 'leading'), 'a leader', 10_000);
    const other = leader === a ? b : a;
    const identity = leader === a ? 'coordinator-e' : 'coordinator-f';
    faults.failLeaseFor.add(identity);
    await leader.done;
    assert.equal((leader.outcome.error as { reason?: string } | undefined)?.reason, 'LeaderElectionLost');
    assert.equal(leader.manager.state, 'stopped');
    const reconcilesWhenDeposed = leader.counter.reconciles;
    await waitFor(() => other.manager.state === 'leading', 'the other manager to lead', 10_000);
    await writer.create(resources.configMaps, source('three', { k: 'v3' }));
    await waitFor(async () => (await mirrorData('three'))?.['k'] === 'v3', 'the new leader to mirror three');
    assert.equal(leader.counter.reconciles, reconcilesWhenDeposed, 'a deposed leader reconciles nothing more');
  });
});

/**
 * The sandbox scheduler against the embedded API server: it binds through pods/binding to the least loaded
 * Ready node, honours nodeSelector, marks a pod that fits nowhere PodScheduled=False/Unschedulable with
 * kube-scheduler's message, binds it once a fitting node appears, and spreads a burst evenly.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { KubeObject } from '../../../src/api/meta.js';
import type { Pod } from '../../../src/api/pod-types.js';
import { EventRecorder } from '../../../src/kube/events/index.js';
import { InformerFactory } from '../../../src/kube/informer/informer-factory.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { resources } from '../../../src/kube/resource-ref.js';
import { buildNodeObject, type NodeObject } from '../../../src/sandbox/node/node-object.js';
import { SandboxScheduler } from '../../../src/sandbox/node/scheduler.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';

const logger = pino({ level: 'silent' });

interface Env { h: Harness; client: KubeClient; scheduler: SandboxScheduler; stop: AbortController; running: Promise<void>; recorder: EventRecorder }

function node(name: string, o: { labels?: Record<string, string>; ready?: boolean; unschedulable?: boolean } = {}): NodeObject {
  const n = buildNodeObject({
    name, machineId: name, runtime: { runtimeName: 'test', runtimeVersion: '1' }, runtimeReady: o.ready ?? true, now: new Date(),
    ...(o.labels ? { labels: o.labels } : {}),
  });
  if (o.unschedulable) n.spec = { unschedulable: true };
  return n;
}

function pod(name: string, spec: Partial<Pod['spec']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } };
}

async function nodeOf(client: KubeClient, name: string): Promise<string | undefined> {
  return (await client.get<Pod & KubeObject>(resources.pods, 'default', name)).spec.nodeName;
}

describe('sandbox scheduler', () => {
  let env: Env;
  beforeEach(async () => {
    const h = await startHarness({ crds: false });
    const client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (test)' });
    const informers = new InformerFactory({ client, logger });
    const recorder = new EventRecorder({ client, component: 'default-scheduler', logger });
    const scheduler = new SandboxScheduler({ client, informers, recorder, logger, workers: 4 });
    const stop = new AbortController();
    const running = Promise.all([informers.start(stop.signal), scheduler.start(stop.signal)]).then(() => undefined);
    env = { h, client, scheduler, stop, running, recorder };
  });
  afterEach(async () => {
    env.stop.abort();
    await env.running;
    env.recorder.destroy();
    env.client.close();
    await env.h.close();
  });

  it('should bind a pod to the least loaded Ready node and record the Scheduled event', async () => {
    const { client } = env;
    for (const n of [node('a'), node('b'), node('c'), node('d', { ready: false }), node('e', { unschedulable: true })]) await client.create(resources.nodes, n);
    await client.create(resources.pods, pod('on-a1', { nodeName: 'a' }));
    await client.create(resources.pods, pod('on-a2', { nodeName: 'a' }));
    await client.create(resources.pods, pod('on-b', { nodeName: 'b' }));
    await waitFor(() => env.scheduler.podCount('a') === 2 && env.scheduler.podCount('b') === 1, 'the scheduler to see the bound pods');
    await client.create(resources.pods, pod('web'));
    assert.equal(await waitFor(() => nodeOf(client, 'web'), 'web to be bound'), 'c');
    const event = await waitFor(async () => (await client.list(resources.events, { namespace: 'default' })).items
      .find((e) => (e as { reason?: string }).reason === 'Scheduled'), 'the Scheduled event');
    assert.equal((event as { message?: string }).message, 'Successfully assigned default/web to c');
    assert.equal((event as { source?: { component?: string } }).source?.component, 'default-scheduler');
  });

  it('should honour nodeSelector', async () => {
    const { client } = env;
    await client.create(resources.nodes, node('plain'));
    await client.create(resources.nodes, node('gold', { labels: { tier: 'gold' } }));
    for (let i = 0; i < 3; i++) await client.create(resources.pods, pod(`g${i}`, { nodeSelector: { tier: 'gold' } }));
    for (let i = 0; i < 3; i++) assert.equal(await waitFor(() => nodeOf(client, `g${i}`), `g${i} bound`), 'gold');
  });

  it('should mark a pod that fits nowhere Unschedulable, then bind it once a node fits', async () => {
    const { client } = env;
    await client.create(resources.nodes, node('n1'));
    await client.create(resources.nodes, node('n2', { ready: false }));
    await client.create(resources.pods, pod('picky', { nodeSelector: { zone: 'z9' } }));
    const cond = await waitFor(async () => (await client.get<Pod & KubeObject>(resources.pods, 'default', 'picky')).status?.conditions
      ?.find((c) => c.type === 'PodScheduled'), 'the PodScheduled condition');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'Unschedulable');
    assert.equal(cond.message, "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.");
    await waitFor(async () => (await client.list(resources.events, { namespace: 'default' })).items
      .some((e) => (e as { reason?: string }).reason === 'FailedScheduling'), 'the FailedScheduling event');
    assert.equal(await nodeOf(client, 'picky'), undefined);

    await client.create(resources.nodes, node('n3', { labels: { zone: 'z9' } }));
    assert.equal(await waitFor(() => nodeOf(client, 'picky'), 'picky to be bound'), 'n3');
    const after = await waitFor(async () => {
      const c = (await client.get<Pod & KubeObject>(resources.pods, 'default', 'picky')).status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'True' ? c : undefined;
    }, 'PodScheduled=True');
    assert.equal(after.status, 'True');
  });

  it('should spread a burst of pods evenly', async () => {
    const { client } = env;
    for (const n of ['s1', 's2', 's3']) await client.create(resources.nodes, node(n));
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.create(resources.pods, pod(`burst-${i}`))));
    const placed = await waitFor(async () => {
      const items = (await client.list<Pod & KubeObject>(resources.pods, { namespace: 'default' })).items;
      return items.every((p) => p.spec.nodeName) ? items : undefined;
    }, 'every pod bound');
    const per: Record<string, number> = {};
    for (const p of placed) per[p.spec.nodeName!] = (per[p.spec.nodeName!] ?? 0) + 1;
    assert.deepEqual(per, { s1: 10, s2: 10, s3: 10 });
  });

  it('should leave pods of another scheduler alone', async () => {
    const { client } = env;
    await client.create(resources.nodes, node('x1'));
    await client.create(resources.pods, pod('other', { schedulerName: 'my-scheduler' }));
    await client.create(resources.pods, pod('mine'));
    await waitFor(() => nodeOf(client, 'mine'), 'mine bound');
    assert.equal(await nodeOf(client, 'other'), undefined);
  });
});

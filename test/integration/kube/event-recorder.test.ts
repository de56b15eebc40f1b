/**
 * The event recorder against the embedded API server, on a fake clock: aggregation of repeats and of similar
 * events, the per-object spam filter, and a recorder that neither throws nor blocks when the API fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../../src/api/meta.js';
import { COMBINED_PREFIX, EventReason, EventRecorder, type CoreEvent, type EventClient } from '../../../src/kube/events/index.js';
import { formatTime } from '../../../src/kube/events/event-correlator.js';
import { KubeApiError, networkError } from '../../../src/kube/kube-api-error.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { resources } from '../../../src/kube/resource-ref.js';
import { startHarness, type Harness } from '../../support/api-server-harness.js';
import { uniqueName } from '../../support/integration-helpers.js';

const COMPONENT = 'kruise-ts-coordinator';

class FakeClock {
  constructor(public ms: number) {}
  now(): number { return this.ms; }
  advance(ms: number): void { this.ms += ms; }
}

describe('event recorder', () => {
  let h: Harness;
  let client: KubeClient;
  before(async () => {
    h = await startHarness({ crds: false });
    client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (test)' });
  });
  after(async () => { client.close(); await h.close(); });

  const configMap = async (): Promise<KubeObject> => client.create(resources.configMaps, {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: uniqueName('cm'), namespace: 'default' }, data: {},
  });
  const eventsAbout = async (name: string, namespace = 'default'): Promise<CoreEvent[]> =>
    (await client.list<CoreEvent>(resources.events, { namespace })).items.filter((e) => e.involvedObject.name === name);

  it('aggregates repeats of one event into one Event with its count and last timestamp', async () => {
    const clock = new FakeClock(Date.now());
    const t0 = clock.ms;
    const recorder = new EventRecorder({ client, component: COMPONENT, host: 'node-1', clock });
    const cm = await configMap();
    for (let i = 0; i < 5; i++) {
      recorder.event(cm, 'Normal', EventReason.SuccessfulCreate, 'create Pod demo-abcde');
      clock.advance(1_000);
    }
    await recorder.close();
    const events = await eventsAbout(cm.metadata.name!);
    assert.equal(events.length, 1);
    const [e] = events as [CoreEvent];
    assert.equal(e.count, 5);
    assert.equal(e.firstTimestamp, formatTime(t0));
    assert.equal(e.lastTimestamp, formatTime(t0 + 4_000));
    assert.equal(e.metadata.name, `${cm.metadata.name}.${(BigInt(t0) * 1_000_000n).toString(16)}`);
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'SuccessfulCreate');
    assert.equal(e.message, 'create Pod demo-abcde');
    assert.deepEqual(e.source, { component: COMPONENT, host: 'node-1' });
    assert.equal(e.reportingComponent, COMPONENT);
    assert.equal(e.reportingInstance, 'node-1');
    assert.deepEqual(e.involvedObject, {
      kind: 'ConfigMap', apiVersion: 'v1', name: cm.metadata.name, namespace: 'default', uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion,
    });
    assert.deepEqual(recorder.stats(), { dropped: 0, filtered: 0, failed: 0, written: 5 });
  });

  it('keeps distinct messages apart and combines the tenth and later similar ones into one Event', async () => {
    const clock = new FakeClock(Date.now());
    const recorder = new EventRecorder({ client, component: COMPONENT, clock });
    const cm = await configMap();
    for (let i = 1; i <= 12; i++) recorder.event(cm, 'Warning', EventReason.PullImageFailed, `attempt ${i} failed`);
    await recorder.close();
    const events = await eventsAbout(cm.metadata.name!);
    const combined = events.filter((e) => e.message.startsWith(COMBINED_PREFIX));
    assert.equal(events.length - combined.length, 9, 'the first nine messages are Events of their own');
    assert.equal(combined.length, 1);
    assert.equal(combined[0]!.count, 3);
    assert.equal(combined[0]!.message, `${COMBINED_PREFIX}attempt 12 failed`);
  });

  it('lets 25 events about one object through at once, then one per five minutes', async () => {
    const clock = new FakeClock(Date.now());
    const recorder = new EventRecorder({ client, component: COMPONENT, clock });
    const noisy = await configMap();
    const quiet = await configMap();
    for (let i = 0; i < 30; i++) recorder.event(noisy, 'Warning', EventReason.FailedCreate, 'quota exceeded');
    recorder.event(quiet, 'Normal', EventReason.SuccessfulCreate, 'created');
    await recorder.idle();
    assert.equal((await eventsAbout(noisy.metadata.name!))[0]?.count, 25);
    assert.equal((await eventsAbout(quiet.metadata.name!)).length, 1, 'another object has its own budget');
    assert.equal(recorder.stats().filtered, 5);

    clock.advance(299_000);
    recorder.event(noisy, 'Warning', EventReason.FailedCreate, 'quota exceeded');
    clock.advance(1_000);
    recorder.event(noisy, 'Warning', EventReason.FailedCreate, 'quota exceeded');
    recorder.event(noisy, 'Warning', EventReason.FailedCreate, 'quota exceeded');
    await recorder.close();
    assert.equal((await eventsAbout(noisy.metadata.name!))[0]?.count, 26, 'one token after five minutes');
    assert.equal(recorder.stats().filtered, 7);
  });

  it('records events about cluster-scoped objects in namespace default', async () => {
    const recorder = new EventRecorder({ client, component: 'kruise-ts-agent', host: 'node-7' });
    const name = uniqueName('node');
    recorder.event({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name, uid: 'u-1' } }, 'Normal', EventReason.PullImageSucceed, 'Image nginx:1 has been pulled');
    await recorder.close();
    const [e] = await eventsAbout(name);
    assert.equal(e?.metadata.namespace, 'default');
    assert.equal(e?.involvedObject.namespace, undefined);
  });

  it('re-creates a repeated Event that was deleted meanwhile', async () => {
    const recorder = new EventRecorder({ client, component: COMPONENT });
    const cm = await configMap();
    recorder.event(cm, 'Normal', EventReason.SuccessfulDelete, 'delete Pod x');
    await recorder.idle();
    const [first] = await eventsAbout(cm.metadata.name!);
    await client.delete(resources.events, 'default', first!.metadata.name!);
    recorder.event(cm, 'Normal', EventReason.SuccessfulDelete, 'delete Pod x');
    await recorder.close();
    const events = await eventsAbout(cm.metadata.name!);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.metadata.name, first!.metadata.name);
    assert.equal(events[0]!.count, 2);
  });

  it('never throws and never blocks when the API fails, retrying only transport errors', async () => {
    const cm = await configMap();
    const calls = { create: 0 };
    let fail: () => never = () => { throw networkError('connection refused'); };
    const failing: EventClient = {
      create: () => { calls.create++; fail(); },
      patch: () => { throw new Error('not reached'); },
    };
    const recorder = new EventRecorder({ client: failing, component: COMPONENT, maxAttempts: 3, retryIntervalMs: 5 });
    assert.equal(recorder.event(cm, 'Warning', EventReason.FailedCreate, 'transport'), undefined);
    await recorder.idle();
    assert.equal(calls.create, 3, 'a transport error is retried up to maxAttempts');

    fail = () => { throw new KubeApiError('forbidden', { code: 403, reason: 'Forbidden' }); };
    recorder.event(cm, 'Warning', EventReason.FailedCreate, 'rejected');
    await recorder.idle();
    assert.equal(calls.create, 4, 'an error the server answered is not retried');
    assert.equal(recorder.stats().failed, 2);

    // A real client against a port nobody listens on.
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
    });
    const refused = new KubeClient({ kubeConfig: kc, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (refused)' });
    const r2 = new EventRecorder({ client: refused, component: COMPONENT, retryIntervalMs: 60_000 });
    r2.event(cm, 'Normal', EventReason.SuccessfulCreate, 'lost');
    r2.event({ metadata: {} }, 'Normal', EventReason.SuccessfulCreate, 'odd object');
    r2.event(cm, 'Bogus' as never, 'X', 'unsupported type');
    await r2.close(); // Resolves without waiting out the 60 s retry interval.
    assert.equal(r2.stats().failed, 2);
    r2.event(cm, 'Normal', EventReason.SuccessfulCreate, 'after close');
    assert.equal(r2.stats().dropped, 1);
    refused.close();
  });

  it('drops events instead of growing its queue past the bound', async () => {
    const cm = await configMap();
    let release!: () => void;
    const hold = new Promise<never>((_resolve, reject) => { release = () => reject(networkError('released')); });
    const stuck: EventClient = { create: () => hold, patch: () => hold };
    const recorder = new EventRecorder({ client: stuck, component: COMPONENT, queueSize: 2, maxAttempts: 1 });
    for (let i = 0; i < 5; i++) recorder.event(cm, 'Normal', EventReason.SuccessfulCreate, `m${i}`);
    // One is being written, two wait, two were dropped.
    assert.equal(recorder.stats().dropped, 2);
    release();
    await recorder.close();
    assert.deepEqual(recorder.stats(), { dropped: 2, filtered: 0, failed: 3, written: 0 });
  });
});

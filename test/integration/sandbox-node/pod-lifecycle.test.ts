/**
 * The pod lifecycle of an emulated node against the embedded API server and a built-in CRI runtime (in-process):
 * pods are created with `spec.nodeName` set (no scheduler), an informer on `spec.nodeName=node-1` feeds
 * `observe`/`forget`, and every case reads the result back through the API, as a user would. Back-offs are shortened.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Condition, KubeObject } from '../../../src/api/meta.js';
import type { ContainerStatus, Pod } from '../../../src/api/pod-types.js';
import { EventRecorder, type CoreEvent } from '../../../src/kube/events/index.js';
import { InformerFactory } from '../../../src/kube/informer/index.js';
import { isNotFound, KubeApiError } from '../../../src/kube/kube-api-error.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { resources } from '../../../src/kube/resource-ref.js';
import { BuiltinRuntime, InProcessCriClient, STOP_DELAY_ANNOTATION } from '../../../src/sandbox/cri/index.js';
import { createNodePods, LABEL_POD_UID } from '../../../src/sandbox/node/pods/index.js';
import type { NodePods } from '../../../src/sandbox/node/node-pods-contract.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';
import { uniqueName } from '../../support/integration-helpers.js';

const NODE = 'node-1';
const NS = 'default';
const NODE_LABELS = { 'kruise-ts.test/node': NODE };
const IMAGE_ID = /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/;
const CONTAINER_ID = /^kruise-ts:\/\/[0-9a-f]{64}$/;

describe('pod lifecycle of an emulated node', () => {
  let h: Harness;
  let client: KubeClient;
  let cri: InProcessCriClient;
  let recorder: EventRecorder;
  let pods: NodePods;
  const stop = new AbortController();
  let running: Promise<unknown>;
  /** Waiting reasons each pod's containers showed, in the order the watch delivered them. */
  const reasonsSeen = new Map<string, string[]>();

  before(async () => {
    h = await startHarness({ crds: false });
    client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (node-pods)' });
    const runtime = new BuiltinRuntime({ pullLatencyMs: 5, pullBandwidthBytesPerSecond: 1024 ** 3 });
    cri = new InProcessCriClient({ runtime });
    const logger = pino({ level: 'silent' });
    recorder = new EventRecorder({ client, component: 'kubelet', host: NODE, logger });
    pods = createNodePods({
      nodeName: NODE, cri, client, recorder, logger, sandboxLabels: NODE_LABELS,
      containerBackoff: { initialMs: 300, maxMs: 2_000 },
      imagePullBackoff: { initialMs: 1_000, maxMs: 4_000 },
      relistPeriodMs: 100,
      syncRetryMs: 150,
    });
    const informers = new InformerFactory({ client, logger });
    const inf = informers.informerFor(resources.pods, { fieldSelector: `spec.nodeName=${NODE}` });
    const track = (o: KubeObject) => {
      const pod = o as unknown as Pod;
      const seen = reasonsSeen.get(pod.metadata.name ?? '') ?? [];
      for (const s of pod.status?.containerStatuses ?? []) {
        const r = s.state?.waiting?.reason;
        if (r !== undefined && seen[seen.length - 1] !== r) seen.push(r);
      }
      reasonsSeen.set(pod.metadata.name ?? '', seen);
      pods.observe(pod);
    };
    inf.addHandler({
      onAdd: track,
      onUpdate: (_old, o) => track(o),
      onDelete: (o) => pods.forget(o.metadata.namespace ?? '', o.metadata.name ?? '', o.metadata.uid ?? ''),
    });
    running = Promise.all([informers.start(stop.signal), pods.start(stop.signal)]);
    await informers.waitForSync();
  });

  after(async () => {
    stop.abort();
    await running;
    await pods.teardown();
    recorder.destroy();
    await cri.close();
    client.close();
    await h.close();
  });

  const createPod = async (spec: Partial<Pod['spec']> & Pick<Pod['spec'], 'containers'>, meta: Partial<Pod['metadata']> = {}): Promise<Pod> =>
    (await client.create(resources.pods, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: uniqueName('pod'), namespace: NS, ...meta },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...spec },
    } as unknown as KubeObject)) as unknown as Pod;
  const getPod = async (name: string): Promise<Pod> => (await client.get(resources.pods, NS, name)) as unknown as Pod;
  const condition = (p: Pod, type: string): Condition | undefined => p.status?.conditions?.find((c) => c.type === type);
  const statusOf = (p: Pod, name: string): ContainerStatus | undefined => p.status?.containerStatuses?.find((c) => c.name === name);
  const eventsAbout = async (name: string): Promise<CoreEvent[]> =>
    (await client.list<CoreEvent>(resources.events, { namespace: NS })).items.filter((e) => e.involvedObject.name === name);
  const waitForPod = (name: string, what: string, check: (p: Pod) => boolean, timeoutMs = 10_000): Promise<Pod> =>
    waitFor(async () => {
      const p = await getPod(name);
      return check(p) ? p : undefined;
    }, what, timeoutMs);

  it('runs a bare pod to Running and Ready with kubelet status fields', async () => {
    const pod = await createPod({ containers: [{ name: 'app', image: 'busybox:1.36' }] });
    const name = pod.metadata.name ?? '';
    const p = await waitForPod(name, 'the pod to be Ready', (x) => condition(x, 'Ready')?.status === 'True');
    assert.equal(p.status?.phase, 'Running');
    assert.equal(p.status?.hostIP, '127.0.0.1');
    assert.equal(p.status?.podIP, '127.0.0.1');
    assert.equal(p.status?.['qosClass'], 'BestEffort');
    assert.ok(p.status?.startTime);
    for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) {
      const c = condition(p, type);
      assert.equal(c?.status, 'True', type);
      assert.match(c?.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const cs = statusOf(p, 'app');
    assert.ok(cs);
    assert.equal(cs.image, 'busybox:1.36');
    assert.match(cs.imageID, IMAGE_ID);
    assert.match(cs.containerID ?? '', CONTAINER_ID);
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt);
    assert.equal(cs.lastState, undefined);
    const reasons = new Set((await eventsAbout(name)).map((e) => e.reason));
    for (const r of ['Pulling', 'Pulled', 'Created', 'Started']) assert.ok(reasons.has(r), `event ${r} in ${[...reasons].join(',')}`);
    // The sandbox is a host-network one with the pod's labels.
    const sandboxes = await cri.listPodSandbox({ filter: { labelSelector: { [LABEL_POD_UID]: pod.metadata.uid ?? '' } } });
    assert.equal(sandboxes.items.length, 1);
    const st = await cri.podSandboxStatus({ podSandboxId: sandboxes.items[0]?.id ?? '' });
    assert.equal(st.status?.linux?.namespaces?.options?.network, 'NODE');
    assert.equal(st.status?.labels['io.kubernetes.pod.name'], name);
    assert.ok(pods.podCount() >= 1);
  });

  it('is Ready only once every readiness gate condition is True, set through /status', async () => {
    const gate = 'example.com/feature-ready';
    const pod = await createPod({ containers: [{ name: 'app', image: 'busybox:1.36' }], readinessGates: [{ conditionType: gate }] });
    const name = pod.metadata.name ?? '';
    let p = await waitForPod(name, 'containers ready', (x) => condition(x, 'ContainersReady')?.status === 'True');
    assert.equal(condition(p, 'Ready')?.status, 'False');
    assert.equal(condition(p, 'Ready')?.reason, 'ReadinessGatesNotReady');
    assert.equal(condition(p, 'Ready')?.message, `corresponding condition of pod readiness gate "${gate}" does not exist.`);
    await client.patch(resources.pods, NS, name, 'strategic',
      { status: { conditions: [{ type: gate, status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } },
      { subresource: 'status' });
    p = await waitForPod(name, 'the pod to be Ready', (x) => condition(x, 'Ready')?.status === 'True');
    assert.equal(condition(p, gate)?.status, 'True', 'the gate condition is kept');
    // As the kubelet's patch does: the reason and message of the False condition go with it.
    assert.deepEqual([condition(p, 'Ready')?.reason, condition(p, 'Ready')?.message], [undefined, undefined]);
    assert.deepEqual([condition(p, 'ContainersReady')?.reason, condition(p, 'ContainersReady')?.message], [undefined, undefined]);
    await client.patch(resources.pods, NS, name, 'strategic', { status: { conditions: [{ type: gate, status: 'False' }] } },
      { subresource: 'status' });
    p = await waitForPod(name, 'the pod to be not Ready again', (x) => condition(x, 'Ready')?.status === 'False');
    assert.equal(condition(p, 'Ready')?.message, `the status of pod readiness gate "${gate}" is not "True", but False`);
  });

  it('kills and restarts a container whose postStart hook fails', async () => {
    const pod = await createPod({
      containers: [{ name: 'app', image: 'busybox:1.36', lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 3'] } } } }],
    });
    const name = pod.metadata.name ?? '';
    const p = await waitForPod(name, 'a restart', (x) => (statusOf(x, 'app')?.restartCount ?? 0) >= 1);
    const cs = statusOf(p, 'app');
    assert.equal(cs?.ready, false);
    assert.equal(condition(p, 'Ready')?.status, 'False');
    await waitFor(async () => (await eventsAbout(name)).some((e) => e.reason === 'FailedPostStartHook'), 'a FailedPostStartHook event');
    const events = await eventsAbout(name);
    const hookEvent = events.find((e) => e.reason === 'FailedPostStartHook');
    assert.match(hookEvent?.message ?? '', /^Exec lifecycle hook \(\[sh -c exit 3\]\) for Container "app" in Pod ".*" failed - error: command 'sh -c exit 3' exited with 3/);
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'FailedPostStartHook'));
    await waitFor(() => (reasonsSeen.get(name) ?? []).some((r) => r === 'PostStartHookError' || r === 'CrashLoopBackOff'),
      'a PostStartHookError or CrashLoopBackOff waiting reason');
  });

  it('keeps a container not ready while its exec readiness probe fails, and ready once it passes', async () => {
    const pod = await createPod({
      containers: [{
        name: 'app', image: 'busybox:1.36',
        readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
      }],
    });
    const name = pod.metadata.name ?? '';
    await waitFor(async () => (await eventsAbout(name)).some((e) => e.reason === 'Unhealthy'), 'an Unhealthy event');
    let p = await getPod(name);
    const cs = statusOf(p, 'app');
    assert.equal(p.status?.phase, 'Running');
    assert.equal(cs?.ready, false);
    assert.equal(cs?.started, true);
    assert.equal(condition(p, 'ContainersReady')?.reason, 'ContainersNotReady');
    assert.equal(condition(p, 'Ready')?.message, 'containers with unready status: [app]');
    const unhealthy = (await eventsAbout(name)).find((e) => e.reason === 'Unhealthy');
    assert.match(unhealthy?.message ?? '', /^Readiness probe failed: cat: can't open '\/tmp\/ready'/);
    // Make the probe pass from inside the container.
    const id = (cs?.containerID ?? '').replace(/^kruise-ts:\/\//, '');
    await cri.execSync({ containerId: id, cmd: ['touch', '/tmp/ready'], timeout: '5' });
    p = await waitForPod(name, 'the pod to be Ready', (x) => condition(x, 'Ready')?.status === 'True', 5_000);
    assert.equal(statusOf(p, 'app')?.ready, true);
  });

  it('reports ErrImagePull, then ImagePullBackOff, for an image from an .invalid registry', async () => {
    const image = 'registry.kruise-ts.invalid/team/app:1.0';
    const pod = await createPod({ containers: [{ name: 'app', image }] });
    const name = pod.metadata.name ?? '';
    await waitFor(() => {
      const seen = reasonsSeen.get(name) ?? [];
      const i = seen.indexOf('ErrImagePull');
      return i >= 0 && seen.indexOf('ImagePullBackOff', i) > i;
    }, 'ErrImagePull then ImagePullBackOff');
    const p = await getPod(name);
    assert.equal(p.status?.phase, 'Pending');
    const waiting = statusOf(p, 'app')?.state?.waiting;
    assert.ok(waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff');
    const events = await eventsAbout(name);
    assert.ok(events.some((e) => e.reason === 'Failed' && e.message.startsWith(`Failed to pull image "${image}": rpc error: code = NotFound`)));
    assert.ok(events.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'));
    await waitFor(async () => (await eventsAbout(name)).some((e) => e.reason === 'BackOff' && e.message === `Back-off pulling image "${image}"`),
      'a BackOff event');
  });

  it('restarts only the container whose image changed in place, with restartCount 1 and a new imageID', async () => {
    const pod = await createPod({
      containers: [{ name: 'app', image: 'busybox:1.36' }, { name: 'sidecar', image: 'nginx:1.25' }],
    });
    const name = pod.metadata.name ?? '';
    const before = await waitForPod(name, 'the pod to be Ready', (x) => condition(x, 'Ready')?.status === 'True');
    const appBefore = statusOf(before, 'app');
    const sidecarBefore = statusOf(before, 'sidecar');
    await client.patch(resources.pods, NS, name, 'strategic', { spec: { containers: [{ name: 'app', image: 'busybox:1.37' }] } });
    const after = await waitForPod(name, 'the new app container to be ready', (x) => {
      const s = statusOf(x, 'app');
      return s?.image === 'busybox:1.37' && s.ready && condition(x, 'Ready')?.status === 'True';
    });
    const app = statusOf(after, 'app');
    const sidecar = statusOf(after, 'sidecar');
    assert.equal(app?.restartCount, 1);
    assert.match(app?.imageID ?? '', IMAGE_ID);
    assert.notEqual(app?.imageID, appBefore?.imageID);
    assert.notEqual(app?.containerID, appBefore?.containerID);
    assert.equal(app?.lastState?.terminated?.containerID, appBefore?.containerID);
    assert.equal(app?.lastState?.terminated?.exitCode, 143);
    assert.equal(sidecar?.restartCount, 0);
    assert.equal(sidecar?.containerID, sidecarBefore?.containerID);
    assert.ok((await eventsAbout(name)).some((e) => e.reason === 'Killing' && e.message === 'Container app definition changed, will be restarted'));
  });

  it('deletes a pod gracefully: preStop, stop within the grace period, sandbox removed, then the pod object', async () => {
    const pod = await createPod({
      containers: [{ name: 'app', image: 'busybox:1.36', lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > /tmp/bye'] } } } }],
    }, { annotations: { [STOP_DELAY_ANNOTATION]: '300' } });
    const name = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    await waitForPod(name, 'the pod to be Ready', (x) => condition(x, 'Ready')?.status === 'True');
    const started = Date.now();
    await client.delete(resources.pods, NS, name);
    const terminating = await getPod(name);
    assert.ok(terminating.metadata.deletionTimestamp, 'a pod with a node waits for it');
    assert.equal(terminating.metadata.deletionGracePeriodSeconds, 5);
    await waitFor(async () => {
      try {
        await getPod(name);
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    }, 'the pod object to be deleted');
    assert.ok(Date.now() - started >= 300, 'the container took its stop delay');
    const sandboxes = await cri.listPodSandbox({ filter: { labelSelector: { [LABEL_POD_UID]: uid } } });
    assert.equal(sandboxes.items.length, 0);
    const events = await eventsAbout(name);
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app'));
    assert.ok(!events.some((e) => e.reason === 'FailedPreStopHook'));
  });

  it('fails a restartPolicy Never pod whose container exits 1, after its init containers ran in order', async () => {
    const pod = await createPod({
      restartPolicy: 'Never',
      initContainers: [
        { name: 'init-1', image: 'busybox:1.36', command: ['sh', '-c', 'exit 0'] },
        { name: 'init-2', image: 'busybox:1.36', command: ['true'] },
      ],
      containers: [{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }],
    });
    const name = pod.metadata.name ?? '';
    const p = await waitForPod(name, 'the pod to fail', (x) => x.status?.phase === 'Failed');
    const inits = p.status?.initContainerStatuses ?? [];
    assert.deepEqual(inits.map((s) => [s.name, s.state?.terminated?.reason, s.ready]), [['init-1', 'Completed', true], ['init-2', 'Completed', true]]);
    assert.ok(Date.parse(inits[0]?.state?.terminated?.finishedAt ?? '') <= Date.parse(inits[1]?.state?.terminated?.startedAt ?? ''));
    const app = statusOf(p, 'app');
    assert.equal(app?.state?.terminated?.exitCode, 1);
    assert.equal(app?.state?.terminated?.reason, 'Error');
    assert.equal(app?.restartCount, 0);
    assert.equal(condition(p, 'Initialized')?.status, 'True');
  });

  it('rejects a pod spec change other than an image with Kubernetes\' immutability error', async () => {
    const pod = await createPod({ containers: [{ name: 'app', image: 'busybox:1.36' }] });
    const name = pod.metadata.name ?? '';
    let caught: unknown;
    try {
      await client.patch(resources.pods, NS, name, 'strategic', { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } });
    } catch (e) {
      caught = e;
    }
    assert.ok(KubeApiError.is(caught), `expected a KubeApiError, got ${String(caught)}`);
    assert.equal(caught.code, 422);
    assert.equal(caught.reason, 'Invalid');
    assert.match(caught.message, /pod updates may not change fields other than `spec.containers\[\*\].image`/);
  });
});

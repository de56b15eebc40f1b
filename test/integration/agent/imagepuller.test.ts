/**
 * The agent's image puller end to end: an embedded API server, the sandbox's built-in CRI runtime in process
 * (wrapped to count and break calls), and the controller run by a Manager as `kruise-ts agent` runs it. NodeImages
 * are created directly (no coordinator). Every wait has a deadline; nothing sleeps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { ImageSpec, NodeImage } from '../../../src/api/nodeimage-types.js';
import { fixedCriSource } from '../../../src/agent/cri-connector.js';
import { ImagePullerController, type ImagePullerControllerOptions } from '../../../src/agent/imagepuller/index.js';
import type { CriApi } from '../../../src/cri/cri-api.js';
import { CriError } from '../../../src/cri/cri-error.js';
import { parseImageReference } from '../../../src/cri/image-reference.js';
import { KubeClient, KubeMetrics, Manager, resources } from '../../../src/kube/index.js';
import { BuiltinRuntime, InProcessCriClient } from '../../../src/sandbox/cri/index.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** Counts and breaks CRI calls: PullImage in flight (overall and per image), and an UNAVAILABLE switch. */
class CriProbe {
  inFlight = 0;
  maxInFlight = 0;
  readonly perImage = new Map<string, number>();
  maxPerImage = 0;
  readonly pulls: { image: string; startedAt: number; endedAt?: number; ok?: boolean }[] = [];
  down = false;
  unavailableCalls = 0;

  wrap(inner: CriApi): CriApi {
    const unavailable = (method: 'PullImage' | 'ImageStatus'): CriError => {
      this.unavailableCalls++;
      return new CriError({ method, grpcCode: GrpcStatus.UNAVAILABLE, details: 'connection refused (runtime down in test)' });
    };
    return new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop === 'pullImage') {
          const pull: CriApi['pullImage'] = async (req, opts) => {
            if (this.down) throw unavailable('PullImage');
            const image = parseImageReference(req.image?.image ?? '').toString();
            const record: { image: string; startedAt: number; endedAt?: number; ok?: boolean } = { image, startedAt: Date.now() };
            this.pulls.push(record);
            this.inFlight++;
            this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
            const same = (this.perImage.get(image) ?? 0) + 1;
            this.perImage.set(image, same);
            this.maxPerImage = Math.max(this.maxPerImage, same);
            try {
              const res = await target.pullImage(req, opts);
              record.ok = true;
              return res;
            } catch (e) {
              record.ok = false;
              throw e;
            } finally {
              record.endedAt = Date.now();
              this.inFlight--;
              this.perImage.set(image, (this.perImage.get(image) ?? 1) - 1);
            }
          };
          return pull;
        }
        if (prop === 'imageStatus') {
          const status: CriApi['imageStatus'] = async (req, opts) => {
            if (this.down) throw unavailable('ImageStatus');
            return target.imageStatus(req, opts);
          };
          return status;
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  pullsOf(image: string): number {
    const ref = parseImageReference(image).toString();
    return this.pulls.filter((p) => p.image === ref).length;
  }
}

interface Agent {
  manager: Manager;
  controller: ImagePullerController;
  registry: Registry;
  stop(): Promise<void>;
}

interface CoreEvent { reason?: string; type?: string; message?: string; involvedObject?: { name?: string; kind?: string } }

describe('agent image puller', () => {
  let h: Harness;
  let api: KubeClient;
  const agents: Agent[] = [];

  before(async () => {
    h = await startHarness();
    api = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (writer)' });
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    api.close();
    await h.close();
  });

  function runtime(pullLatencyMs = 200): BuiltinRuntime {
    return new BuiltinRuntime({ pullLatencyMs, pullBandwidthBytesPerSecond: Infinity });
  }

  async function startAgent(nodeName: string, cri: CriApi, extra: Partial<ImagePullerControllerOptions> = {}): Promise<Agent> {
    const registry = new Registry();
    const metrics = new KubeMetrics(registry);
    const client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 50, burst: 100, userAgent: `kruise-ts/test (agent ${nodeName})`, observer: metrics });
    let controller: ImagePullerController | undefined;
    const manager = new Manager({
      client, metrics, registry, logger: log, component: 'kruise-ts-agent', leaderElection: false,
      controllers: (ctx) => {
        controller = new ImagePullerController({
          nodeName, client: ctx.client, informers: ctx.informers, recorder: ctx.recorder, cri: fixedCriSource(cri),
          logger: ctx.logger, registry, controllerMetrics: ctx.metrics,
          backoff: { baseMs: 50, capMs: 200 }, jitter: 0,
          ...extra,
        });
        return [controller];
      },
    });
    const stop = new AbortController();
    const done = manager.start(stop.signal);
    const agent: Agent = {
      manager, controller: controller!, registry,
      stop: async () => { stop.abort(); await done.catch(() => undefined); client.close(); },
    };
    agents.push(agent);
    return agent;
  }

  async function createNodeImage(name: string, images: Record<string, ImageSpec>): Promise<void> {
    await api.create(resources.nodeImages, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name }, spec: { images },
    });
  }

  function getNodeImage(name: string): Promise<NodeImage> {
    return api.get<NodeImage>(resources.nodeImages, '', name);
  }

  async function eventsFor(objectName: string): Promise<CoreEvent[]> {
    const list = await api.list(resources.events, { namespace: 'default' });
    return (list.items as unknown as CoreEvent[]).filter((e) => e.involvedObject?.name === objectName);
  }

  const policy = (backoffLimit = 3, extra: Record<string, number> = {}) => ({ timeoutSeconds: 30, backoffLimit, ttlSecondsAfterFinished: 300, ...extra });

  it('should pull its tags, skip present ones, fail a .invalid image after backoffLimit + 1 attempts and report all of it', async () => {
    const rt = runtime();
    const probe = new CriProbe();
    const cri = probe.wrap(new InProcessCriClient({ runtime: rt }));
    // busybox:1 is already on the node: no pull for it.
    await rt.pullImage({ image: { image: 'busybox:1' } });
    const agent = await startAgent('node-1', cri);
    const owner = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', name: 'job-a', namespace: 'default', uid: 'uid-job-a' };
    await createNodeImage('node-1', {
      nginx: { tags: [{ tag: '1.25', version: 0, pullPolicy: policy() }, { tag: '1.26', version: 0, pullPolicy: policy() }] },
      busybox: { tags: [{ tag: '1', version: 0, pullPolicy: policy() }] },
      'registry.invalid/team/app': { tags: [{ tag: 'v1', version: 0, pullPolicy: policy(2), ownerReferences: [owner] }] },
    });
    const ni = await waitFor(async () => {
      const o = await getNodeImage('node-1');
      return o.status !== undefined && o.status.succeeded + o.status.failed === 4 ? o : undefined;
    }, 'every tag of node-1 to finish', 15_000);
    const s = ni.status!;
    assert.deepEqual({ desired: s.desired, succeeded: s.succeeded, failed: s.failed, pulling: s.pulling }, { desired: 4, succeeded: 3, failed: 1, pulling: 0 });
    const nginx = s.imageStatuses?.['nginx']?.tags ?? [];
    assert.deepEqual(nginx.map((t) => t.tag), ['1.25', '1.26']);
    for (const t of nginx) {
      assert.equal(t.phase, 'Succeeded');
      assert.match(t.imageID ?? '', /^nginx@sha256:[0-9a-f]{64}$/);
      assert.equal(t.progress, 100);
      assert.equal(t.version, 0);
      assert.ok(t.startTime !== undefined && t.completionTime !== undefined);
    }
    assert.equal(s.imageStatuses?.['busybox']?.tags[0]?.phase, 'Succeeded');
    assert.equal(probe.pullsOf('busybox:1'), 0, 'a present image is not pulled');
    const failed = s.imageStatuses?.['registry.invalid/team/app']?.tags[0];
    assert.equal(failed?.phase, 'Failed');
    assert.match(failed?.message ?? '', /NOT_FOUND.*no such host/);
    assert.ok(failed?.completionTime !== undefined);
    assert.equal(probe.pullsOf('registry.invalid/team/app:v1'), 3, 'backoffLimit 2 → 3 attempts');

    const events = await waitFor(async () => {
      const evs = await eventsFor('node-1');
      return evs.filter((e) => e.reason === 'PullImageSucceed').length === 3 && evs.some((e) => e.reason === 'PullImageFailed') ? evs : undefined;
    }, 'the NodeImage events');
    const failedEvent = events.find((e) => e.reason === 'PullImageFailed');
    assert.equal(failedEvent?.type, 'Warning');
    assert.match(failedEvent?.message ?? '', /^Failed to pull image registry\.invalid\/team\/app:v1 on node node-1 for /);
    const ownerEvents = await waitFor(async () => {
      const evs = (await eventsFor('job-a')).filter((e) => e.reason === 'PullImageFailed');
      return evs.length > 0 ? evs : undefined;
    }, 'the owner event');
    assert.equal(ownerEvents[0]?.involvedObject?.kind, 'ImagePullJob');

    const text = await agent.registry.metrics();
    assert.match(text, /kruise_agent_image_pulls_total\{result="succeeded"\} 2/);
    assert.match(text, /kruise_agent_image_pulls_total\{result="already_present"\} 1/);
    assert.match(text, /kruise_agent_image_pulls_total\{result="failed"\} 1/);
    assert.match(text, /kruise_agent_image_pulled_bytes_total [1-9]/);
    assert.match(text, /kruise_agent_nodeimage_status_writes_total\{result="success"\} [1-9]/);
    assert.match(text, /kruise_agent_image_pull_duration_seconds_count\{result="succeeded"\} 2/);
    assert.match(text, /kruise_agent_image_pulls_in_flight 0/);
    assert.match(text, /kruise_agent_image_pull_queue_depth 0/);

    // A version bump asks for a new round; the image is present, so it succeeds without a pull.
    const current = await getNodeImage('node-1');
    const bumped = structuredClone(current);
    bumped.spec.images!['nginx']!.tags[0]!.version = 1;
    await api.update(resources.nodeImages, bumped);
    await waitFor(async () => {
      const t = (await getNodeImage('node-1')).status?.imageStatuses?.['nginx']?.tags.find((x) => x.tag === '1.25');
      return t?.version === 1 && t.phase === 'Succeeded';
    }, 'the new round of nginx:1.25');
    assert.equal(probe.pullsOf('nginx:1.25'), 1);

    // With imagePullPolicy Always, a new round pulls even though the image is present (moving tags).
    const always = structuredClone(await getNodeImage('node-1'));
    const tag125 = always.spec.images!['nginx']!.tags[0]!;
    tag125.version = 2;
    tag125.imagePullPolicy = 'Always';
    await api.update(resources.nodeImages, always);
    await waitFor(async () => {
      const t = (await getNodeImage('node-1')).status?.imageStatuses?.['nginx']?.tags.find((x) => x.tag === '1.25');
      return t?.version === 2 && t.phase === 'Succeeded';
    }, 'the Always round of nginx:1.25');
    assert.equal(probe.pullsOf('nginx:1.25'), 2);

    // Removing a tag drops its status.
    const trimmed = structuredClone(await getNodeImage('node-1'));
    delete trimmed.spec.images!['registry.invalid/team/app'];
    await api.update(resources.nodeImages, trimmed);
    await waitFor(async () => {
      const st = (await getNodeImage('node-1')).status;
      return st?.desired === 3 && st.failed === 0 && st.imageStatuses?.['registry.invalid/team/app'] === undefined;
    }, 'the removed image to leave the status');
  });

  it('should run at most two pulls at once and never one image twice at once', async () => {
    const probe = new CriProbe();
    const cri = probe.wrap(new InProcessCriClient({ runtime: runtime(300) }));
    await startAgent('node-2', cri);
    await createNodeImage('node-2', {
      a: { tags: [{ tag: '1', pullPolicy: policy() }, { tag: '2', pullPolicy: policy() }] },
      b: { tags: [{ tag: '1', pullPolicy: policy() }] },
      c: { tags: [{ tag: '1', pullPolicy: policy() }] },
      'docker.io/library/c': { tags: [{ tag: '1', pullPolicy: policy() }] },
      'docker.io/d': { tags: [{ tag: '1', pullPolicy: policy() }] },
    });
    await waitFor(async () => (await getNodeImage('node-2')).status?.succeeded === 6, 'six tags pulled', 15_000);
    assert.equal(probe.maxInFlight, 2);
    assert.equal(probe.maxPerImage, 1);
    assert.equal(probe.pullsOf('c:1'), 1, '`c` and `docker.io/library/c` are one image, pulled once');
  });

  it('should use a pull secret from kruise-system and refuse one from another namespace', async () => {
    const dockerConfig = (user: string, password: string) => Buffer.from(JSON.stringify({
      auths: { 'registry.auth.kruise-ts.test': { auth: Buffer.from(`${user}:${password}`).toString('base64') } },
    })).toString('base64');
    for (const namespace of ['kruise-system', 'default']) {
      await api.create(resources.secrets, {
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'registry-login', namespace }, data: { '.dockerconfigjson': dockerConfig('kruise', 'kruise-secret') },
      });
    }
    const probe = new CriProbe();
    await startAgent('node-3', probe.wrap(new InProcessCriClient({ runtime: runtime() })));
    await createNodeImage('node-3', {
      'registry.auth.kruise-ts.test/private/app': {
        pullSecrets: [{ namespace: 'kruise-system', name: 'registry-login' }],
        tags: [{ tag: 'v1', pullPolicy: policy() }],
      },
      'registry.auth.kruise-ts.test/private/other': {
        pullSecrets: [{ namespace: 'default', name: 'registry-login' }],
        tags: [{ tag: 'v1', pullPolicy: policy(0) }],
      },
    });
    const st = await waitFor(async () => {
      const s = (await getNodeImage('node-3')).status;
      return s !== undefined && s.succeeded + s.failed === 2 ? s : undefined;
    }, 'both private images to finish', 15_000);
    assert.equal(st.imageStatuses?.['registry.auth.kruise-ts.test/private/app']?.tags[0]?.phase, 'Succeeded');
    const refused = st.imageStatuses?.['registry.auth.kruise-ts.test/private/other']?.tags[0];
    assert.equal(refused?.phase, 'Failed', 'the secret outside kruise-system was not read: anonymous pull, 401');
    assert.match(refused?.message ?? '', /401 Unauthorized/);
    assert.doesNotMatch(JSON.stringify(st), /kruise-secret/);
  });

  it('should resume a pull after a restart mid-pull: one Succeeded, no lost result, startTime kept', async () => {
    const probe = new CriProbe();
    const rt = runtime(1500);
    const cri = probe.wrap(new InProcessCriClient({ runtime: rt }));
    const first = await startAgent('node-4', cri);
    await createNodeImage('node-4', { slow: { tags: [{ tag: 'v1', version: 0, pullPolicy: policy() }] } });
    const pulling = await waitFor(async () => {
      const t = (await getNodeImage('node-4')).status?.imageStatuses?.['slow']?.tags[0];
      return t?.phase === 'Pulling' && probe.inFlight === 1 ? t : undefined;
    }, 'the pull to be running');
    await first.stop();
    const afterStop = (await getNodeImage('node-4')).status?.imageStatuses?.['slow']?.tags[0];
    assert.equal(afterStop?.phase, 'Pulling', 'a stopped pull records nothing');
    assert.equal(probe.inFlight, 0, 'stopping cancelled the pull');

    await startAgent('node-4', cri);
    const done = await waitFor(async () => {
      const s = (await getNodeImage('node-4')).status;
      return s?.succeeded === 1 ? s : undefined;
    }, 'the resumed pull to succeed', 15_000);
    const t = done.imageStatuses?.['slow']?.tags ?? [];
    assert.equal(t.length, 1);
    assert.equal(t[0]?.phase, 'Succeeded');
    assert.equal(t[0]?.startTime, pulling.startTime, 'the deadline still counts from the first start');
    assert.equal(probe.maxPerImage, 1, 'the two agents never pulled at once');
    assert.equal(probe.pulls.filter((p) => p.ok === true).length, 1, 'one completed pull');
    const succeeded = await waitFor(async () => {
      const evs = (await eventsFor('node-4')).filter((e) => e.reason === 'PullImageSucceed');
      return evs.length > 0 ? evs : undefined;
    }, 'the success event');
    assert.equal(succeeded.length, 1);

    // A third agent adopts the finished status as is: no pull, no second event.
    const pullsBefore = probe.pulls.length;
    await agents.at(-1)!.stop();
    await startAgent('node-4', cri);
    const third = agents.at(-1)!;
    await waitFor(async () => /controller_reconcile_total\{controller="imagepuller",result="requeue_after"\} [1-9]/.test(await third.registry.metrics()),
      'the third agent to reconcile');
    assert.equal(third.controller.taskFor('slow', 'v1'), undefined, 'nothing to do: the status was adopted');
    assert.equal(probe.pulls.length, pullsBefore);
    assert.equal((await eventsFor('node-4')).filter((e) => e.reason === 'PullImageSucceed').length, 1);
  });

  it('should keep running while the CRI runtime is away, retry, and recover when it is back', async () => {
    const probe = new CriProbe();
    await startAgent('node-5', probe.wrap(new InProcessCriClient({ runtime: runtime() })));
    probe.down = true;
    await createNodeImage('node-5', { nginx: { tags: [{ tag: 'stable', pullPolicy: policy(20) }] } });
    const retrying = await waitFor(async () => {
      const t = (await getNodeImage('node-5')).status?.imageStatuses?.['nginx']?.tags[0];
      return probe.unavailableCalls >= 3 && t?.phase === 'Pulling' && /UNAVAILABLE/.test(t.message ?? '') ? t : undefined;
    }, 'failed attempts to show in the status');
    assert.equal(retrying.completionTime, undefined);
    probe.down = false;
    await waitFor(async () => (await getNodeImage('node-5')).status?.succeeded === 1, 'recovery', 15_000);
    const t = (await getNodeImage('node-5')).status?.imageStatuses?.['nginx']?.tags[0];
    assert.equal(t?.message, undefined, 'the last error is cleared on success');
  });

  it('should make each phase change visible through the API within about a second', async () => {
    const probe = new CriProbe();
    await startAgent('node-6', probe.wrap(new InProcessCriClient({ runtime: runtime(400) })));
    const created = Date.now();
    await createNodeImage('node-6', { nginx: { tags: [{ tag: 'fast', pullPolicy: policy() }] } });
    await waitFor(async () => {
      const phase = (await getNodeImage('node-6')).status?.imageStatuses?.['nginx']?.tags[0]?.phase;
      return phase === 'Pulling' || phase === 'Waiting';
    }, 'the first status', 1500);
    const firstSeen = Date.now();
    assert.ok(firstSeen - created < 1200, `first status after ${firstSeen - created} ms`);
    await waitFor(async () => (await getNodeImage('node-6')).status?.succeeded === 1, 'Succeeded', 5000);
    const pull = probe.pulls[0];
    assert.ok(pull?.endedAt !== undefined);
    const latency = Date.now() - pull.endedAt;
    assert.ok(latency < 1200, `Succeeded visible ${latency} ms after the pull ended`);
  });
});

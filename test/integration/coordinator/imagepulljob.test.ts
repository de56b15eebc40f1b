/**
 * The ImagePullJob and NodeImage controllers end to end on the embedded API server, run by a Manager, with FAKE
 * agents: an in-test loop that watches NodeImages and answers each unanswered tag with Pulling, then Succeeded or
 * Failed after a short simulated pull (or never, for the "not responded" case). No real puller is involved.
 * Every test uses its own nodes (label `suite=<id>`) and its own image, so tests do not see each other's work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseFeatureGates } from '../../../src/api/feature-gates.js';
import type { ImagePullJob } from '../../../src/api/imagepulljob-types.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { NodeImage } from '../../../src/api/nodeimage-types.js';
import { registerImagePullControllers } from '../../../src/coordinator/imagepulljob/index.js';
import { mirrorSecretName } from '../../../src/coordinator/imagepulljob/secret-mirror.js';
import {
  InformerFactory, isNotFound, KubeClient, KubeMetrics, Manager, resources, updateStatusWithRetry, updateWithRetry,
  type SharedInformer,
} from '../../../src/kube/index.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';

const log = pino({ level: 'silent' });
const RESPONSE_TIMEOUT_MS = 3000;

type Behaviour = 'succeed' | 'fail' | 'silent';

/**
 * The fake agents of every node: on each NodeImage event, tags without a status of their version get `Pulling`;
 * `pullMs` later the node's behaviour decides `Succeeded` or `Failed`. Status writes are resourceVersion-guarded
 * read-modify-writes, as the real agent's are.
 */
class FakeAgents {
  readonly behaviour = new Map<string, Behaviour>();
  private readonly informers: InformerFactory;
  readonly nodeImages: SharedInformer<NodeImage>;
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per job uid: the most nodes seen at once with an unfinished tag of that job. */
  readonly maxUnfinished = new Map<string, number>();

  constructor(private readonly client: KubeClient, private readonly pullMs = 60) {
    this.informers = new InformerFactory({ client, logger: log });
    this.nodeImages = this.informers.informerFor<NodeImage>(resources.nodeImages);
    this.nodeImages.addHandler({ onAdd: (ni) => this.kick(ni), onUpdate: (_o, ni) => this.kick(ni) });
  }

  start(): void { this.running = this.informers.start(this.stop.signal); }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.stop.abort();
    await this.running;
  }

  private observe(): void {
    const counts = new Map<string, number>();
    for (const ni of this.nodeImages.cache.list()) {
      const seen = new Set<string>();
      for (const [image, spec] of Object.entries(ni.spec?.images ?? {})) {
        for (const tag of spec.tags ?? []) {
          const st = ni.status?.imageStatuses?.[image]?.tags?.find((t) => t.tag === tag.tag);
          const unfinished = !st || (st.version ?? 0) !== (tag.version ?? 0) || !st.completionTime;
          if (!unfinished) continue;
          for (const o of tag.ownerReferences ?? []) if (o.uid && !seen.has(o.uid)) { seen.add(o.uid); counts.set(o.uid, (counts.get(o.uid) ?? 0) + 1); }
        }
      }
    }
    for (const [uid, n] of counts) this.maxUnfinished.set(uid, Math.max(n, this.maxUnfinished.get(uid) ?? 0));
  }

  private kick(ni: NodeImage): void {
    this.observe();
    const name = ni.metadata.name!;
    if ((this.behaviour.get(name) ?? 'silent') === 'silent') return;
    if (this.busy.has(name)) { this.again.add(name); return; }
    this.busy.add(name);
    void this.answer(name).catch(() => undefined).finally(() => {
      this.busy.delete(name);
      if (this.again.delete(name)) { const cur = this.nodeImages.cache.getByName('', name); if (cur) this.kick(cur); }
    });
  }

  /** Writes Pulling for unanswered tags and schedules their result. */
  private async answer(name: string): Promise<void> {
    const started: { image: string; tag: string; version: number }[] = [];
    await updateStatusWithRetry<NodeImage>(this.client, resources.nodeImages, '', name, (fresh) => {
      started.length = 0;
      const status = fresh.status ?? { desired: 0, succeeded: 0, failed: 0, pulling: 0 };
      const imageStatuses = { ...(status.imageStatuses ?? {}) };
      for (const [image, spec] of Object.entries(fresh.spec?.images ?? {})) {
        const tags = [...(imageStatuses[image]?.tags ?? [])].filter((t) => spec.tags.some((s) => s.tag === t.tag));
        for (const tag of spec.tags) {
          const i = tags.findIndex((t) => t.tag === tag.tag);
          if (i >= 0 && (tags[i]!.version ?? 0) === (tag.version ?? 0)) continue;
          const entry = { tag: tag.tag, phase: 'Pulling' as const, version: tag.version ?? 0, startTime: new Date().toISOString(), progress: 0 };
          if (i >= 0) tags[i] = entry; else tags.push(entry);
          started.push({ image, tag: tag.tag, version: tag.version ?? 0 });
        }
        imageStatuses[image] = { tags };
      }
      if (started.length === 0) return undefined;
      return { ...fresh, status: { ...status, imageStatuses } };
    }, { attempts: 20 });
    for (const s of [...started]) {
      const t = setTimeout(() => { this.timers.delete(t); void this.finish(name, s).catch(() => undefined); }, this.pullMs);
      this.timers.add(t);
    }
  }

  private async finish(name: string, s: { image: string; tag: string; version: number }): Promise<void> {
    const ok = this.behaviour.get(name) === 'succeed';
    await updateStatusWithRetry<NodeImage>(this.client, resources.nodeImages, '', name, (fresh) => {
      const tags = fresh.status?.imageStatuses?.[s.image]?.tags ?? [];
      const i = tags.findIndex((t) => t.tag === s.tag && (t.version ?? 0) === s.version && t.phase === 'Pulling');
      if (i < 0) return undefined;
      const next = [...tags];
      next[i] = { ...tags[i]!, phase: ok ? 'Succeeded' : 'Failed', progress: ok ? 100 : 0, completionTime: new Date().toISOString(), ...(ok ? { imageID: `${s.image}@sha256:${'0'.repeat(64)}` } : { message: 'pull failed: not found' }) };
      const status = fresh.status!;
      return { ...fresh, status: { ...status, imageStatuses: { ...status.imageStatuses, [s.image]: { tags: next } } } };
    }, { attempts: 20 });
  }
}

describe('ImagePullJob and NodeImage controllers with fake agents', () => {
  let h: Harness;
  let client: KubeClient;
  let manager: Manager;
  let agents: FakeAgents;
  const stop = new AbortController();
  let managerDone: Promise<void>;

  before(async () => {
    h = await startHarness();
    client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (imagepulljob)' });
    const registry = new Registry();
    const metrics = new KubeMetrics(registry);
    manager = new Manager({
      client, metrics, registry, logger: log, component: 'kruise-ts-coordinator', leaderElection: false,
      controllers: (ctx) => registerImagePullControllers(ctx, parseFeatureGates(''), {
        nodeImage: { responseTimeoutMs: RESPONSE_TIMEOUT_MS, minRequeueMs: 200, requeueJitterMs: 0 },
      }),
    });
    managerDone = manager.start(stop.signal);
    agents = new FakeAgents(client);
    agents.start();
  });

  after(async () => {
    await agents.close();
    stop.abort();
    await managerDone;
    client.close();
    await h.close();
  });

  const suiteId = (): string => randomBytes(3).toString('hex');

  async function createNodes(suite: string, count: number, behaviour: Behaviour = 'succeed'): Promise<string[]> {
    const names: string[] = [];
    for (let i = 1; i <= count; i++) {
      const name = `node-${suite}-${i}`;
      agents.behaviour.set(name, behaviour);
      await client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { suite, 'kubernetes.io/hostname': name } } });
      names.push(name);
    }
    await waitFor(() => names.every((n) => agents.nodeImages.cache.getByName('', n)), 'NodeImages of the new nodes');
    return names;
  }

  async function createJob(name: string, spec: Partial<ImagePullJob['spec']> & { image: string }, namespace = 'default'): Promise<ImagePullJob> {
    return client.create<ImagePullJob>(resources.imagePullJobs, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name, namespace },
      spec: { completionPolicy: { type: 'Always' }, pullPolicy: { timeoutSeconds: 60, backoffLimit: 1 }, ...spec },
    });
  }

  const getJob = (name: string, ns = 'default'): Promise<ImagePullJob> => client.get<ImagePullJob>(resources.imagePullJobs, ns, name);
  const getNi = (name: string): Promise<NodeImage> => client.get<NodeImage>(resources.nodeImages, '', name);

  it('should pull on six nodes at most two at a time and complete with upstream counters and message', async () => {
    const suite = suiteId();
    await createNodes(suite, 6);
    const job = await createJob('six', { image: `reg.example.com/six:${suite}`, parallelism: 2, selector: { matchLabels: { suite } } });
    const done = await waitFor(async () => { const j = await getJob('six'); return j.status?.completionTime ? j : undefined; }, 'job six to complete', 30_000);
    assert.deepEqual(
      { desired: done.status!.desired, active: done.status!.active, succeeded: done.status!.succeeded, failed: done.status!.failed, message: done.status!.message },
      { desired: 6, active: 0, succeeded: 6, failed: 0, message: 'job has completed' },
    );
    assert.ok(done.status!.startTime);
    const max = agents.maxUnfinished.get(job.metadata.uid!) ?? 0;
    assert.ok(max >= 1 && max <= 2, `never more than 2 nodes pulling at once, saw ${max}`);
  });

  it('should list a failing node in failedNodes', async () => {
    const suite = suiteId();
    const [good] = await createNodes(suite, 1, 'succeed');
    const [bad] = await createNodes(`${suite}b`, 1, 'fail');
    await client.patch(resources.nodes, '', bad!, 'merge', { metadata: { labels: { suite } } });
    await waitFor(async () => (await getNi(bad!)).metadata.labels?.['suite'] === suite, 'NodeImage labels follow the Node');
    await createJob('failing', { image: `reg.example.com/fail:${suite}`, parallelism: 5, selector: { matchLabels: { suite } } });
    const done = await waitFor(async () => { const j = await getJob('failing'); return j.status?.completionTime ? j : undefined; }, 'job failing to complete', 20_000);
    assert.equal(done.status!.succeeded, 1);
    assert.equal(done.status!.failed, 1);
    assert.deepEqual(done.status!.failedNodes, [bad]);
    assert.ok(good);
  });

  it('should fail a node that never answers with "node has not responded for a long time"', async () => {
    const suite = suiteId();
    const [silent] = await createNodes(suite, 1, 'silent');
    await createJob('silent', { image: `reg.example.com/silent:${suite}`, selector: { names: [silent!] } });
    const done = await waitFor(async () => { const j = await getJob('silent'); return j.status?.completionTime ? j : undefined; }, 'job silent to complete', 20_000);
    assert.deepEqual(done.status!.failedNodes, [silent]);
    const ni = await getNi(silent!);
    const st = ni.status?.imageStatuses?.['reg.example.com/silent']?.tags[0];
    assert.equal(st?.phase, 'Failed');
    assert.equal(st?.message, 'node has not responded for a long time');
    const events = await client.list<KubeObject & { reason?: string; message?: string }>(resources.events, { namespace: 'default' });
    assert.ok(events.items.some((e) => e.reason === 'PullImageFailed'
      && e.message === `Failed to pull image reg.example.com/silent:${suite} on node ${silent} for node has not responded for a long time`));
  });

  it('should delete an Always job after ttlSecondsAfterFinished and garbage-collect its tags', async () => {
    const suite = suiteId();
    const nodes = await createNodes(suite, 2);
    const image = `reg.example.com/ttl`;
    await createJob('ttl', { image: `${image}:${suite}`, parallelism: 2, selector: { matchLabels: { suite } }, completionPolicy: { type: 'Always', ttlSecondsAfterFinished: 1 } });
    await waitFor(async () => { try { await getJob('ttl'); return false; } catch (e) { return isNotFound(e); } }, 'job ttl to be deleted', 20_000);
    await waitFor(async () => {
      for (const n of nodes) if ((await getNi(n)).spec.images?.[image]) return false;
      return true;
    }, 'tags of the deleted job to be collected', 10_000);
  });

  it('should keep a Never job running and sync a node that joins later', async () => {
    const suite = suiteId();
    const [first] = await createNodes(suite, 1);
    await createJob('never', { image: `reg.example.com/never:${suite}`, parallelism: 3, selector: { matchLabels: { suite } }, completionPolicy: { type: 'Never' } });
    await waitFor(async () => (await getJob('never')).status?.succeeded === 1, 'first node pulled', 20_000);
    const [later] = await createNodes(`${suite}x`, 1);
    await client.patch(resources.nodes, '', later!, 'merge', { metadata: { labels: { suite } } });
    const j = await waitFor(async () => { const x = await getJob('never'); return x.status?.succeeded === 2 ? x : undefined; }, 'the later node pulled too', 20_000);
    assert.equal(j.status!.desired, 2);
    assert.equal(j.status!.completionTime, undefined);
    assert.equal(j.status!.message, 'job is running, progress 100.0%');
    const tag = (await getNi(later!)).spec.images?.['reg.example.com/never']?.tags[0];
    assert.equal(tag?.pullPolicy?.activeDeadlineSeconds, 1800);
    assert.ok(tag!.pullPolicy!.ttlSecondsAfterFinished! >= 85_800 && tag!.pullPolicy!.ttlSecondsAfterFinished! <= 86_999);
    assert.ok(first);
  });

  it('should complete two jobs for one image on one node through one shared tag', async () => {
    const suite = suiteId();
    const [node] = await createNodes(suite, 1);
    const image = `reg.example.com/shared:${suite}`;
    await createJob('first', { image, selector: { names: [node!] }, completionPolicy: { type: 'Never' } });
    await waitFor(async () => (await getJob('first')).status?.succeeded === 1, 'first job pulled', 20_000);
    await createJob('second', { image, selector: { names: [node!] } });
    const second = await waitFor(async () => { const j = await getJob('second'); return j.status?.completionTime ? j : undefined; }, 'second job complete', 20_000);
    assert.equal(second.status!.succeeded, 1);
    const tags = (await getNi(node!)).spec.images?.['reg.example.com/shared']?.tags ?? [];
    assert.equal(tags.length, 1);
    assert.equal(tags[0]!.version, 1);
    assert.deepEqual(tags[0]!.ownerReferences?.map((o) => o.name).sort(), ['first', 'second']);
    assert.equal((await getJob('first')).status?.succeeded, 1);
  });

  it('should never lose entries when jobs, agents and other writers change one NodeImage at once', async () => {
    const suite = suiteId();
    const [node] = await createNodes(suite, 1);
    const images = ['a', 'b', 'c', 'd'].map((x) => `reg.example.com/many-${x}`);
    // A writer that is not a job adds its own tag while the jobs fan out and the agent writes statuses.
    const rogue = updateWithRetry<NodeImage>(client, resources.nodeImages, '', node!, (ni) => ({
      ...ni, spec: { images: { ...(ni.spec.images ?? {}), 'reg.example.com/manual': { tags: [{ tag: 'v1', version: 0, createdAt: new Date().toISOString(), pullPolicy: { ttlSecondsAfterFinished: 3600 }, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'keep', uid: 'keep' }] }] } } },
    }), { attempts: 20 });
    await Promise.all([rogue, ...images.map((img, i) => createJob(`many-${i}`, { image: `${img}:${suite}`, selector: { names: [node!] } }))]);
    for (let i = 0; i < images.length; i++) {
      await waitFor(async () => (await getJob(`many-${i}`)).status?.succeeded === 1, `job many-${i} complete`, 20_000);
    }
    const ni = await getNi(node!);
    for (const img of [...images, 'reg.example.com/manual']) assert.ok(ni.spec.images?.[img], `spec keeps ${img}`);
    for (const img of images) assert.equal(ni.status?.imageStatuses?.[img]?.tags[0]?.phase, 'Succeeded', `status keeps ${img}`);
  });

  it('should mirror a pull secret into kruise-system and remove it with the job', async () => {
    const suite = suiteId();
    const [node] = await createNodes(suite, 1);
    await client.create(resources.secrets, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default' }, type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
    });
    await createJob('secret', { image: `reg.example.com/private:${suite}`, selector: { names: [node!] }, pullSecrets: ['regcred'], completionPolicy: { type: 'Never' } });
    const mirror = mirrorSecretName('default', 'secret', 'regcred');
    const copy = await waitFor(async () => { try { return await client.get<KubeObject & { data?: Record<string, string> }>(resources.secrets, 'kruise-system', mirror); } catch { return undefined; } }, 'secret copy', 10_000);
    assert.deepEqual(copy.data, { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') });
    await waitFor(async () => (await getNi(node!)).spec.images?.['reg.example.com/private']?.pullSecrets?.some((s) => s.namespace === 'kruise-system' && s.name === mirror), 'NodeImage references the copy', 10_000);
    await client.delete(resources.imagePullJobs, 'default', 'secret');
    await waitFor(async () => { try { await client.get(resources.secrets, 'kruise-system', mirror); return false; } catch (e) { return isNotFound(e); } }, 'copy deleted with the job', 10_000);
    await waitFor(async () => !(await getNi(node!)).spec.images?.['reg.example.com/private'], 'tag collected after the job is gone', 10_000);
  });

  it('should delete the NodeImage when its Node is deleted', async () => {
    const suite = suiteId();
    const [node] = await createNodes(suite, 1);
    await client.delete(resources.nodes, '', node!);
    await waitFor(async () => { try { await getNi(node!); return false; } catch (e) { return isNotFound(e); } }, 'NodeImage deleted with its Node', 10_000);
  });
});

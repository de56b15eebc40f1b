/**
 * `kruise-ts get imagepulljobs` and `get imagepulljob NAME --watch` as a user runs them, against an embedded API
 * server with our CRDs. The test plays the controllers: it writes the NodeImage tags (as the ImagePullJob
 * controller does), their status (as the agent does) and the job's status (as the controller does) through the API,
 * while the CLI runs as a child process. Its stdout is a pipe, so it prints plain lines; the bars are checked on a
 * fake terminal at the end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ImagePullJob, ImagePullJobStatus } from '../../src/api/imagepulljob-types.js';
import type { ImageTagStatus, NodeImage } from '../../src/api/nodeimage-types.js';
import { BarsRenderer } from '../../src/cli/get-imagepulljob-render.js';
import { buildJobProgress, jobOutcome, outcomeOnDelete } from '../../src/cli/get-imagepulljob-progress.js';
import { parseTimeout } from '../../src/cli/get-imagepulljobs.js';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const JOBS = '/apis/apps.kruise.io/v1alpha1/namespaces/default/imagepulljobs';
const NODEIMAGES = '/apis/apps.kruise.io/v1alpha1/nodeimages';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

/** A running `get --watch`: its output so far and its exit code once it ends. */
class Watcher {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => { this.stdout += c.toString('utf8'); });
    this.child.stderr!.on('data', (c: Buffer) => { this.stderr += c.toString('utf8'); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  async sees(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    await waitFor(() => pattern.test(this.stdout), `${pattern} in the watch output; so far:\n${this.stdout}\nstderr:\n${this.stderr}`, timeoutMs);
  }

  async exitCode(timeoutMs = 15_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the watch did not exit within ${timeoutMs} ms; output:\n${this.stdout}\nstderr:\n${this.stderr}`)), timeoutMs);
    });
    try { return await Promise.race([this.exited, deadline]); } finally { clearTimeout(timer); }
  }

  kill(): void { if (this.child.exitCode === null) this.child.kill('SIGKILL'); }
}

describe('kruise-ts get imagepulljob(s)', () => {
  let h: Harness;
  const watchers: Watcher[] = [];

  async function ok(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const r = await h.request(method, path, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json as Record<string, unknown>;
  }

  async function createNodeImage(name: string): Promise<void> {
    await ok('POST', NODEIMAGES, { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} });
  }

  async function createJob(name: string, image: string, nodes: string[], type: 'Always' | 'Never' = 'Always'): Promise<ImagePullJob> {
    return await ok('POST', JOBS, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name },
      spec: { image, parallelism: 2, selector: { names: nodes }, completionPolicy: { type }, pullPolicy: { timeoutSeconds: 600, backoffLimit: 3 } },
    }) as unknown as ImagePullJob;
  }

  /** The ImagePullJob controller's part: the job as an owner of the tag on the node (§4.5 step 7). */
  async function syncTag(node: string, job: ImagePullJob, imageName: string, tag: string): Promise<void> {
    const ni = await ok('GET', `${NODEIMAGES}/${node}`) as unknown as NodeImage;
    const owner = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', name: job.metadata.name, namespace: 'default', uid: job.metadata.uid };
    const images = { ...(ni.spec.images ?? {}) };
    images[imageName] = { tags: [{ tag, version: 0, createdAt: new Date().toISOString(), pullPolicy: { timeoutSeconds: 600, backoffLimit: 3, ttlSecondsAfterFinished: 600 }, ownerReferences: [owner] }] };
    await ok('PUT', `${NODEIMAGES}/${node}`, { ...ni, spec: { images } });
  }

  /** The agent's part: the tag's status on its node. */
  async function tagStatus(node: string, imageName: string, status: ImageTagStatus): Promise<void> {
    const ni = await ok('GET', `${NODEIMAGES}/${node}`) as unknown as NodeImage;
    const imageStatuses = { ...(ni.status?.imageStatuses ?? {}), [imageName]: { tags: [status] } };
    const counts = { desired: 1, pulling: status.phase === 'Pulling' ? 1 : 0, succeeded: status.phase === 'Succeeded' ? 1 : 0, failed: status.phase === 'Failed' ? 1 : 0 };
    await ok('PUT', `${NODEIMAGES}/${node}/status`, { ...ni, status: { ...counts, imageStatuses } });
  }

  /** The controller's verdict. */
  async function jobStatus(name: string, status: ImagePullJobStatus): Promise<void> {
    const job = await ok('GET', `${JOBS}/${name}`);
    await ok('PUT', `${JOBS}/${name}/status`, { ...job, status });
  }

  function watch(name: string, ...extra: string[]): Watcher {
    const w = new Watcher(['get', 'imagepulljob', name, '--watch', '--kubeconfig', h.kubeconfigPath, ...extra]);
    watchers.push(w);
    return w;
  }

  before(async () => {
    h = await startHarness();
    for (const n of ['node-a', 'node-b', 'node-c']) await createNodeImage(n);
  });
  after(async () => {
    for (const w of watchers) w.kill();
    await h.close();
  });

  it('should follow a job to success, node by node, and exit 0', async () => {
    const job = await createJob('warm-ok', 'nginx:1.9.1', ['node-a', 'node-b']);
    const w = watch('warm-ok');
    await w.sees(/imagepulljob default\/warm-ok: image nginx:1\.9\.1, completionPolicy Always/);
    await w.sees(/overall: 0\/0 done/);
    for (const n of ['node-a', 'node-b']) await syncTag(n, job, 'nginx', '1.9.1');
    await jobStatus('warm-ok', { desired: 2, active: 2, succeeded: 0, failed: 0, startTime: new Date().toISOString(), message: 'job is running, progress 0.0%' });
    await w.sees(/node node-a: Waiting/);
    await w.sees(/node node-b: Waiting/);
    await w.sees(/overall: 0\/2 done \(succeeded 0, failed 0, active 2\): job is running, progress 0\.0%/);
    await tagStatus('node-a', 'nginx', { tag: '1.9.1', phase: 'Pulling', version: 0, progress: 0, startTime: new Date().toISOString() });
    await w.sees(/node node-a: Pulling 0%/);
    await tagStatus('node-a', 'nginx', { tag: '1.9.1', phase: 'Succeeded', version: 0, progress: 100, completionTime: new Date().toISOString() });
    await w.sees(/node node-a: Succeeded/);
    await jobStatus('warm-ok', { desired: 2, active: 1, succeeded: 1, failed: 0, message: 'job is running, progress 50.0%' });
    await w.sees(/overall: 1\/2 done \(succeeded 1, failed 0, active 1\)/);
    assert.equal(w.stdout.includes('warm-ok succeeded'), false, 'not finished before the controller says so');
    await tagStatus('node-b', 'nginx', { tag: '1.9.1', phase: 'Succeeded', version: 0, progress: 100, completionTime: new Date().toISOString() });
    await jobStatus('warm-ok', { desired: 2, active: 0, succeeded: 2, failed: 0, message: 'job has completed', completionTime: new Date().toISOString() });
    assert.equal(await w.exitCode(), 0, w.stderr);
    assert.match(w.stdout, /node node-b: Succeeded/);
    assert.match(w.stdout, /imagepulljob default\/warm-ok succeeded: 2 of 2 node\(s\) succeeded/);
    // No terminal: no escape sequences in the output.
    assert.equal(w.stdout.includes('\u001b['), false, 'no ANSI escape sequences');
  });

  it('should show the failure message of a failed node and exit 1', async () => {
    const job = await createJob('warm-bad', 'registry.example.com/team/app:2', ['node-b', 'node-c']);
    for (const n of ['node-b', 'node-c']) await syncTag(n, job, 'registry.example.com/team/app', '2');
    await jobStatus('warm-bad', { desired: 2, active: 2, succeeded: 0, failed: 0, message: 'job is running, progress 0.0%' });
    const w = watch('warm-bad');
    await w.sees(/node node-c: Waiting/);
    await tagStatus('node-b', 'registry.example.com/team/app', { tag: '2', phase: 'Succeeded', version: 0, progress: 100 });
    const reason = 'rpc error: code = NotFound desc = failed to resolve reference "registry.example.com/team/app:2": not found';
    await tagStatus('node-c', 'registry.example.com/team/app', { tag: '2', phase: 'Failed', version: 0, progress: 0, message: reason });
    await w.sees(/node node-c: Failed: rpc error: code = NotFound/);
    await jobStatus('warm-bad', { desired: 2, active: 0, succeeded: 1, failed: 1, failedNodes: ['node-c'], message: 'job has completed', completionTime: new Date().toISOString() });
    assert.equal(await w.exitCode(), 1, w.stderr);
    assert.match(w.stdout, /imagepulljob default\/warm-bad failed: 1 of 2 node\(s\) failed/);
    assert.ok(w.stdout.includes(`node node-c: Failed: ${reason}`));
  });

  it('should exit 1 when the job is deleted before it finishes', async () => {
    await createJob('warm-gone', 'busybox:1.36', ['node-a']);
    await jobStatus('warm-gone', { desired: 1, active: 1, succeeded: 0, failed: 0, message: 'job is running, progress 0.0%' });
    const w = watch('warm-gone');
    await w.sees(/overall: 0\/1 done/);
    await ok('DELETE', `${JOBS}/warm-gone`);
    assert.equal(await w.exitCode(), 1, w.stderr);
    assert.match(w.stdout, /warm-gone failed: the job was deleted before it finished/);
  });

  it('should exit 0 for a Never job once every target node has succeeded, though it never completes', async () => {
    const job = await createJob('warm-never', 'redis:7', ['node-a'], 'Never');
    await syncTag('node-a', job, 'redis', '7');
    await tagStatus('node-a', 'redis', { tag: '7', phase: 'Succeeded', version: 0, progress: 100 });
    await jobStatus('warm-never', { desired: 1, active: 0, succeeded: 1, failed: 0, message: 'job is running, progress 100.0%' });
    const w = watch('warm-never');
    assert.equal(await w.exitCode(), 0, w.stderr);
    assert.match(w.stdout, /warm-never succeeded: all 1 node\(s\) succeeded \(completionPolicy Never/);
  });

  it('should exit 3 when --timeout passes first', async () => {
    await createJob('warm-slow', 'memcached:1', ['node-a']);
    const w = watch('warm-slow', '--timeout', '300ms');
    assert.equal(await w.exitCode(), 3, w.stderr);
    assert.match(w.stderr, /timed out after 0\.3s waiting for imagepulljob default\/warm-slow/);
  });

  it('should print the table with the CRD printer columns', async () => {
    const r = await cli(['get', 'imagepulljobs', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+TOTAL\s+ACTIVE\s+SUCCEED\s+FAILED\s+AGE\s+MESSAGE$/);
    assert.match(r.stdout, /\nwarm-bad\s+2\s+0\s+1\s+1\s+\d+s\s+job has completed\n/);
    assert.match(r.stdout, /\nwarm-slow\s+<none>\s+<none>\s+<none>\s+<none>\s+\d+s\s+<none>\n/);
    const all = await cli(['get', 'ipj', '-A', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+TOTAL/);
    assert.match(all.stdout, /\ndefault\s+warm-ok\s+2\s+0\s+2\s+0\s+/);
    const empty = await cli(['get', 'imagepulljobs', '-n', 'kube-public', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /No resources found in kube-public namespace\./);
    const json = await cli(['get', 'imagepulljobs', '-o', 'json', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(json.code, 0, json.stderr);
    assert.ok((JSON.parse(json.stdout) as { items: unknown[] }).items.length >= 4);
  });

  it('should print the same columns as kubectl for the CRD', async (t) => {
    const skip = kubectlSkipReason();
    if (skip) { t.skip(skip); return; }
    const kubectl = Kubectl.forHarness(h);
    const theirs = (await kubectl.ok(['get', 'imagepulljobs', 'warm-bad'])).split('\n')[0]!.trim().split(/\s+/);
    const ours = (await cli(['get', 'imagepulljobs', '--kubeconfig', h.kubeconfigPath])).stdout.split('\n')[0]!.trim().split(/\s+/);
    assert.deepEqual(ours, theirs);
  });

  it('should summarise one job with its nodes without --watch', async () => {
    const r = await cli(['get', 'imagepulljob', 'warm-bad', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Image:\s+registry\.example\.com\/team\/app:2/);
    assert.match(r.stdout, /Status:\s+desired 2, active 0, succeeded 1, failed 1/);
    assert.match(r.stdout, /Failed nodes:\s+node-c/);
    assert.match(r.stdout, /node-b\s+Succeeded\s+100%/);
    assert.match(r.stdout, /node-c\s+Failed\s+0%\s+rpc error: code = NotFound/);
    const yaml = await cli(['get', 'ipj', 'warm-bad', '-o', 'yaml', '--kubeconfig', h.kubeconfigPath]);
    assert.match(yaml.stdout, /^apiVersion: apps\.kruise\.io\/v1alpha1\nkind: ImagePullJob\n/);
  });

  it('should exit 2 with a clear message for a job that does not exist and for usage errors', async () => {
    const r = await cli(['get', 'imagepulljob', 'nope', '--watch', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /imagepulljobs\.apps\.kruise\.io "nope" not found in namespace "default"/);
    const noName = await cli(['get', 'imagepulljobs', '--watch', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /--watch needs the NAME/);
    const badOutput = await cli(['get', 'imagepulljobs', '-o', 'wide', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(badOutput.code, 2);
    assert.match(badOutput.stderr, /Allowed choices are table, json, yaml/);
    const badTimeout = await cli(['get', 'ipj', 'warm-ok', '--watch', '--timeout', 'soon', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(badTimeout.code, 2);
    const help = await cli(['get', 'imagepulljob', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit status with --watch:/);
  });
});

describe('the watch view and its outcome', () => {
  const job = (type: 'Always' | 'Never', status: ImagePullJobStatus): ImagePullJob => ({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'j', namespace: 'ns', uid: 'u1' },
    spec: { image: 'nginx:1', completionPolicy: { type } }, status,
  });
  const ni = (name: string, st?: Partial<ImageTagStatus>, version = 0, uid = 'u1'): NodeImage => ({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name },
    spec: { images: { nginx: { tags: [{ tag: '1', version, ownerReferences: [{ uid }] }] } } },
    ...(st ? { status: { desired: 1, succeeded: 0, failed: 0, pulling: 0, imageStatuses: { nginx: { tags: [{ tag: '1', phase: 'Pulling', ...st }] } } } } : {}),
  });
  const image = { name: 'nginx', tag: '1' };

  it('should show only the nodes whose tag the job owns, Waiting until the status is about the same version', () => {
    const v = buildJobProgress(job('Always', { desired: 3, active: 3, succeeded: 0, failed: 0 }), image, [
      ni('b', { phase: 'Pulling', version: 0, progress: 40 }), ni('a'), ni('c', { phase: 'Succeeded', version: 0 }, 1), ni('other', undefined, 0, 'u2'),
    ]);
    assert.deepEqual(v.nodes, [
      { node: 'a', phase: 'Waiting', progress: 0 }, { node: 'b', phase: 'Pulling', progress: 40 }, { node: 'c', phase: 'Waiting', progress: 0 },
    ]);
  });

  it('should list nodes failed by the deadline that never got the tag', () => {
    const v = buildJobProgress(job('Always', { desired: 2, active: 0, succeeded: 1, failed: 1, failedNodes: ['z'], message: 'job exceeds activeDeadlineSeconds', completionTime: 't' }), image, [ni('a', { phase: 'Succeeded', version: 0 })]);
    assert.deepEqual(v.nodes.map((n) => [n.node, n.phase, n.message]), [['a', 'Succeeded', undefined], ['z', 'Failed', 'job exceeds activeDeadlineSeconds']]);
    assert.deepEqual(jobOutcome(v), { state: 'failed', reason: 'job exceeds activeDeadlineSeconds' });
  });

  it('should decide the outcome from the job status, step by step', () => {
    const rows: [string, ImagePullJob, string][] = [
      ['Always, running', job('Always', { desired: 2, active: 1, succeeded: 1, failed: 0 }), 'running'],
      ['Always, completed clean', job('Always', { desired: 2, active: 0, succeeded: 2, failed: 0, completionTime: 't' }), 'succeeded'],
      ['Always, completed with a failure', job('Always', { desired: 2, active: 0, succeeded: 1, failed: 1, completionTime: 't' }), 'failed'],
      ['Always, no targets: completes at once', job('Always', { desired: 0, active: 0, succeeded: 0, failed: 0, completionTime: 't' }), 'succeeded'],
      ['Never, no targets yet', job('Never', { desired: 0, active: 0, succeeded: 0, failed: 0 }), 'running'],
      ['Never, one node still pulling', job('Never', { desired: 2, active: 1, succeeded: 1, failed: 0 }), 'running'],
      ['Never, every node succeeded', job('Never', { desired: 2, active: 0, succeeded: 2, failed: 0 }), 'succeeded'],
      ['Never, every node done, one failed', job('Never', { desired: 2, active: 0, succeeded: 1, failed: 1 }), 'failed'],
    ];
    for (const [what, j, want] of rows) assert.equal(jobOutcome(buildJobProgress(j, image, [])).state, want, what);
    assert.equal(outcomeOnDelete(buildJobProgress(rows[0]![1], image, [])).state, 'failed');
    assert.equal(outcomeOnDelete(buildJobProgress(rows[1]![1], image, [])).state, 'succeeded');
  });

  it('should parse --timeout durations', () => {
    assert.deepEqual(['90', '90s', '10m', '1h', '1500ms', '0'].map(parseTimeout), [90_000, 90_000, 600_000, 3_600_000, 1500, 0]);
    assert.throws(() => parseTimeout('soon'), /expected a duration/);
  });

  it('should draw an overall bar, one bar per node and the failure message on a terminal', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 30 });
    let out = '';
    stream.on('data', (c: Buffer) => { out += c.toString('utf8'); });
    const r = new BarsRenderer({ stream });
    const v = buildJobProgress(job('Always', { desired: 2, active: 0, succeeded: 1, failed: 1, failedNodes: ['b'], completionTime: 't', message: 'job has completed' }), image, [
      ni('a', { phase: 'Succeeded', version: 0, progress: 100 }), ni('b', { phase: 'Failed', version: 0, message: 'pull access denied' }),
    ]);
    r.update(v);
    r.finish(jobOutcome(v), v);
    assert.match(out, /overall \|█{30}\| 2\/2 done \(succeeded 1, failed 1, active 0\): job has completed/);
    assert.match(out, /a {7}\|█{30}\| Succeeded/);
    assert.match(out, /b {7}\|x{30}\| Failed/);
    assert.match(out, /node b failed: pull access denied/);
    assert.match(out, /imagepulljob ns\/j failed: 1 of 2 node\(s\) failed\n$/);
  });
});

/**
 * The README's CloneSet walk-throughs keep working: the `sh` block of each of the five feature subsections of
 * "## CloneSet" is taken from README.md by its heading and run as a user runs it — bash with `set -euo pipefail`,
 * the repository root as working directory, KUBECONFIG pointing at a sandbox like `npm start`'s (3 nodes, the
 * built-in runtime, the sandbox's feature gates; pulls take 0.5 s instead of 2 s, which the blocks' `kubectl wait`s
 * do not depend on). A block runs in two parts: up to its `# Clean up:` line, after which the state its comments
 * promise is checked through the API (with what a watch saw while it ran), then the clean-up. The blocks share one
 * sandbox, in README order. Skips, naming kubectl, where kubectl is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { ImagePullJob } from '../../src/api/imagepulljob-types.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, CONTROLLER_REVISION_HASH_ONLY_LABEL, IMAGE_PREDOWNLOAD_CREATED_LABEL,
  IMAGE_PREDOWNLOAD_IGNORED_LABEL,
} from '../../src/api/well-known-keys.js';
import { shortHash, type ControllerRevision } from '../../src/coordinator/cloneset/index.js';
import { resources, type ResourceRef } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { KUBECTL, kubectlSkipReason } from '../support/kubectl.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NS = 'default';
const CLEAN_UP = '# Clean up:';

interface Walkthrough { heading: string; run: string; cleanUp: string }

/** How the five feature subsections' headings start, in README order. */
const HEADINGS = ['Scale in', 'Delete chosen Pods', 'Pre-download', 'Roll back by raising the partition', 'Short revision hash'] as const;

/** The `sh` block under the `### ` heading starting with `prefix`, inside `## CloneSet`, split at `# Clean up:`. */
function walkthrough(readme: string, prefix: string): Walkthrough {
  const part = /^## CloneSet\b[^\n]*\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  assert.ok(part, 'README.md has a "## CloneSet" section');
  const sections = part.split(/^### /m).slice(1);
  const section = sections.find((s) => s.startsWith(prefix));
  assert.ok(section, `README.md "## CloneSet" has a "### ${prefix}..." subsection (found: ${sections.map((s) => s.split('\n')[0]).join(' | ')})`);
  const heading = section.split('\n')[0]!;
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, `"### ${heading}" has one sh block`);
  const [run, cleanUp] = blocks[0]!.split(`${CLEAN_UP}\n`);
  assert.ok(run && cleanUp, `"### ${heading}" ends its block with a "${CLEAN_UP}" part`);
  return { heading, run, cleanUp };
}

/**
 * Runs `script` with bash as the README user would, kubectl resolved to KUBECTL with a private cache. Returns the
 * values of the shell variables `vars` at the end, so the checks know which Pods the walk-through picked.
 */
function runBash(script: string, kubeconfig: string, cacheDir: string, vars: readonly string[] = []): Promise<Record<string, string>> {
  const prelude = 'set -euo pipefail\nkubectl() { command "$README_KUBECTL" --cache-dir "$README_KUBECTL_CACHE" "$@"; }\n';
  const trailer = `\nprintf '%s\\n' '--- vars'\n${vars.map((v) => `printf '%s=%s\\n' ${v} "$${v}"`).join('\n')}\n`;
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', prelude + script + trailer], {
      cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, KUBECONFIG: kubeconfig, README_KUBECTL: KUBECTL, README_KUBECTL_CACHE: cacheDir },
    }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`walk-through failed (${err.message.split('\n')[0]}):\n--- stdout\n${stdout}\n--- stderr\n${stderr}`)); return; }
      const values = stdout.slice(stdout.lastIndexOf('--- vars\n') + '--- vars\n'.length).trim().split('\n').filter(Boolean);
      resolve(Object.fromEntries(values.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
    });
  });
}

/** One watch event, in the order the watch delivered it. */
interface Seen<T> { type: string; object: T }

describe('README CloneSet walk-throughs on the sandbox', () => {
  let dir: string;
  let sandbox: Sandbox | undefined;
  let readme: string;
  const skip = kubectlSkipReason();

  before(async () => {
    readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-readme-cs-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 3, imagePullSeconds: 0.5 },
    });
  });
  after(async () => {
    await sandbox?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const client = () => sandbox!.client;
  const run = (script: string, vars: readonly string[] = []) => runBash(script, sandbox!.kubeconfigPath, join(dir, 'kubectl-cache'), vars);
  const getCs = (name: string): Promise<CloneSet> => client().get<CloneSet>(resources.cloneSets, NS, name);
  const livePods = async (app: string): Promise<Pod[]> =>
    ((await client().list(resources.pods, { namespace: NS, labelSelector: `app=${app}` })).items as unknown as Pod[])
      .filter((p) => !p.metadata.deletionTimestamp);
  const revisions = async (app: string): Promise<ControllerRevision[]> =>
    (await client().list(resources.controllerRevisions, { namespace: NS, labelSelector: `app=${app}` })).items as unknown as ControllerRevision[];

  /** Records every watch event of `ref` objects labelled `app` from now until stopped. */
  const record = async <T>(ref: ResourceRef, app: string): Promise<{ seen: Seen<T>[]; stop(): Promise<void> }> => {
    const list = await client().list(ref, { namespace: NS, labelSelector: `app=${app}` });
    const seen: Seen<T>[] = list.items.map((o) => ({ type: 'EXISTING', object: o as unknown as T }));
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of client().watch<KubeObject>(ref, {
          namespace: NS, labelSelector: `app=${app}`, resourceVersion: list.metadata?.resourceVersion ?? '', signal: ac.signal,
        })) seen.push({ type: ev.type, object: ev.object as unknown as T });
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    return { seen, stop: async () => { ac.abort(); await watching; } };
  };

  /** Pod creations and deletion starts, in order: `+name` and `-name`. */
  const steps = (seen: readonly Seen<Pod>[]): string[] => {
    const known = new Set<string>();
    const deleting = new Set<string>();
    const out: string[] = [];
    for (const { type, object: p } of seen) {
      const name = p.metadata.name!;
      if (!known.has(name)) { known.add(name); out.push(`+${name}`); }
      if ((type === 'DELETED' || p.metadata.deletionTimestamp) && !deleting.has(name)) { deleting.add(name); out.push(`-${name}`); }
    }
    return out;
  };

  /** Runs the clean-up part and checks that it left nothing of `app` behind. */
  const cleanUp = async (w: Walkthrough, app: string, cloneSet: string): Promise<void> => {
    await run(w.cleanUp);
    await assert.rejects(getCs(cloneSet), /not ?found/i, `${w.heading}: the CloneSet is deleted`);
    assert.deepEqual(await livePods(app), [], `${w.heading}: its Pods are gone`);
  };

  it('should find one walk-through with a clean-up part under each of the five headings', () => {
    for (const prefix of HEADINGS) {
      const w = walkthrough(readme, prefix);
      assert.match(w.run, /^kubectl apply -f deploy\/(?:samples|examples)\/\S+\.yaml$/m, `${w.heading} starts from a sample`);
      assert.match(w.cleanUp, /^kubectl delete cloneset \w+$/m, `${w.heading} deletes its CloneSet`);
    }
  });

  it('scale in: the Pod with the lowest pod-deletion-cost goes first, the highest last', { timeout: 120_000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const w = walkthrough(readme, HEADINGS[0]);
    const pods = await record<Pod>(resources.pods, 'sample');
    const v = await run(w.run, ['CHEAP', 'DEAR']);
    await pods.stop();
    const order = steps(pods.seen);
    assert.equal(order.filter((s) => s.startsWith('+')).length, 5, order.join(' '));
    assert.equal(order.find((s) => s.startsWith('-')), `-${v['CHEAP']}`, `the -100 Pod is deleted first: ${order.join(' ')}`);
    assert.deepEqual((await livePods('sample')).map((p) => p.metadata.name), [v['DEAR']], 'only the +100 Pod is left');
    assert.equal((await getCs('sample')).status?.replicas, 1);
    await cleanUp(w, 'sample', 'sample');
  });

  it('specified deletion: the three maxUnavailable/maxSurge examples, in the order the spec gives', { timeout: 120_000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const w = walkthrough(readme, HEADINGS[1]);
    const pods = await record<Pod>(resources.pods, 'gated');
    const v = await run(w.run, ['A', 'B', 'C']);
    // The block's last wait may read a status from before $A's replacement: wait for it here, with a deadline.
    await waitFor(async () => (await livePods('gated')).length === 5 && steps(pods.seen).filter((s) => s.startsWith('+')).length === 8,
      '$A\'s replacement', 20_000);
    await pods.stop();
    const order = steps(pods.seen);
    const named: Record<string, string> = { [`-${v['A']}`]: '-A', [`-${v['B']}`]: '-B', [`-${v['C']}`]: '-C' };
    const after5 = order.slice(5).map((s) => named[s] ?? `${s[0]}new`);
    // 1. $B (ready, budget 2 with $A unavailable) deleted, then replaced; 2. the surge created before $C is deleted;
    // 3. $A (not ready) deleted, then replaced.
    assert.deepEqual(after5, ['-B', '+new', '+new', '-C', '-A', '+new'], order.join(' '));
    assert.deepEqual(order.slice(0, 5).every((s) => s.startsWith('+')), true, order.join(' '));
    const cs = await waitFor(async () => {
      const c = await getCs('gated');
      return (c.spec.scaleStrategy?.podsToDelete ?? []).length === 0 ? c : undefined;
    }, 'the deleted name to leave podsToDelete');
    assert.equal(cs.spec.replicas, 5);
    await cleanUp(w, 'gated', 'gated');
  });

  it('pre-download: one ImagePullJob <revision>-nginx for the old Pods\' nodes, deleted when the rollout is done; none for 3 replicas', { timeout: 120_000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const w = walkthrough(readme, HEADINGS[2]);
    const jobs = await record<ImagePullJob>(resources.imagePullJobs, 'sample');
    const v = await run(w.run, ['JOB']);
    await jobs.stop();
    const created = jobs.seen.filter((e) => e.type === 'ADDED').map((e) => e.object);
    assert.deepEqual(created.map((j) => j.metadata.name), [v['JOB']], 'one job, for the first update only');
    const job = created[0]!;
    const revision = v['JOB']!.replace(/-nginx$/, '');
    assert.match(revision, /^sample-[4-9bcdf]{1,10}$/);
    assert.equal(job.spec.image, 'nginx:1.28');
    assert.equal(job.spec.parallelism, 2, 'from apps.kruise.io/image-predownload-parallelism');
    assert.deepEqual(job.spec.podSelector, {
      matchLabels: { app: 'sample' },
      matchExpressions: [{ key: CONTROLLER_REVISION_HASH_LABEL, operator: 'NotIn', values: [revision, shortHash(revision)] }],
    });
    assert.deepEqual(job.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]), [['CloneSet', 'sample', true]]);
    assert.ok(jobs.seen.some((e) => e.object.metadata.name === v['JOB'] && e.object.status?.completionTime && e.object.status.succeeded > 0
      && e.object.status.failed === 0), 'the job completed with its nodes succeeded');
    assert.ok(jobs.seen.some((e) => e.type === 'DELETED' && e.object.metadata.name === v['JOB']), 'deleted once the rollout was done');
    assert.deepEqual((await client().list(resources.imagePullJobs, { namespace: NS })).items, []);
    const cs = await getCs('sample');
    const revs = new Map((await revisions('sample')).map((r) => [r.metadata.name!, r.metadata.labels ?? {}]));
    assert.equal(revs.get(revision)?.[IMAGE_PREDOWNLOAD_CREATED_LABEL], 'true');
    assert.equal(revs.get(cs.status!.updateRevision!)?.[IMAGE_PREDOWNLOAD_IGNORED_LABEL], 'true', '3 replicas: ignored');
    assert.equal(cs.status?.replicas, 3);
    await cleanUp(w, 'sample', 'sample');
  });

  it('rollback by partition: the updated Pods go back to the old image in place, same UIDs', { timeout: 120_000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const w = walkthrough(readme, HEADINGS[3]);
    const pods = await record<Pod>(resources.pods, 'sample');
    await run(w.run);
    await pods.stop();
    const cs = await getCs('sample');
    const { currentRevision, updateRevision } = cs.status!;
    assert.ok(currentRevision && updateRevision && currentRevision !== updateRevision, 'the template still differs from the current revision');
    assert.deepEqual(steps(pods.seen).filter((s) => s.startsWith('-')), [], 'no Pod was deleted');
    const everUpdated = new Set(pods.seen.filter((e) => e.object.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === shortHash(updateRevision))
      .map((e) => e.object.metadata.uid));
    assert.equal(everUpdated.size, 2, '60% of 5 kept 3 Pods old, so 2 were updated');
    const live = await livePods('sample');
    assert.equal(live.length, 5);
    for (const p of live) {
      const n = p.metadata.name;
      assert.equal(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], shortHash(currentRevision), n);
      assert.equal(p.spec.containers[0]?.image, 'nginx:alpine', n);
      assert.equal(p.status?.containerStatuses?.[0]?.image, 'nginx:alpine', n);
      assert.equal(p.status?.containerStatuses?.[0]?.restartCount, everUpdated.has(p.metadata.uid) ? 2 : 0, `${n}: restarted once to update, once to roll back`);
    }
    assert.ok([...everUpdated].every((uid) => live.some((p) => p.metadata.uid === uid)), 'the updated Pods are still there');
    assert.equal(cs.status?.updatedReplicas, 0);
    assert.equal(cs.status?.readyReplicas, 5);
    await cleanUp(w, 'sample', 'sample');
  });

  it('short hash: the Pods\' controller-revision-hash label is the hash alone', { timeout: 120_000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const w = walkthrough(readme, HEADINGS[4]);
    const v = await run(w.run, ['REVISION']);
    const revision = v['REVISION']!;
    assert.equal(revision, (await getCs('sample')).status?.updateRevision);
    const hash = shortHash(revision);
    assert.match(hash, /^[4-9bcdf]{1,10}$/);
    const [rev] = (await revisions('sample')).filter((r) => r.metadata.name === revision);
    assert.equal(rev?.metadata.labels?.[CONTROLLER_REVISION_HASH_ONLY_LABEL], hash);
    const live = await livePods('sample');
    assert.equal(live.length, 5);
    for (const p of live) assert.equal(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], hash, p.metadata.name);
    await cleanUp(w, 'sample', 'sample');
  });
});

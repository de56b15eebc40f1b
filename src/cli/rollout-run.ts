/** What `kruise-ts rollout` runs; declared (flags, help, exit codes) in rollout.ts, imported on use. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloneSet } from '../api/cloneset-types.js';
import type { KubeObject } from '../api/meta.js';
import type { Pod } from '../api/pod-types.js';
import { VERSION } from '../api/version.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../api/well-known-keys.js';
import { partitionReplicas } from '../coordinator/cloneset/diffs.js';
import type { JsonValue } from '../coordinator/cloneset/go-json.js';
import { podMatchesRevision, type ControllerRevision } from '../coordinator/cloneset/revision.js';
import { loadKubeConfig, makeClient } from '../kube/client-config.js';
import type { ClusterAccess } from '../kube/kubeconfig-loader.js';
import { KubeApiError } from '../kube/kube-api-error.js';
import type { KubeClient } from '../kube/kube-client.js';
import { resources } from '../kube/resource-ref.js';
import { mergePatch } from '../kube/writes.js';
import {
  ROLLOUT_EXIT_COMPLETE, ROLLOUT_EXIT_INTERRUPTED, ROLLOUT_EXIT_TIMEOUT, type RolloutAction, type RolloutFlags,
  type RolloutIo, type RolloutStatusFlags,
} from './rollout.js';

const KIND_NAMES = new Set(['cloneset', 'clonesets', 'cs', 'cloneset.apps.kruise.io', 'clonesets.apps.kruise.io']);
const QUALIFIED = 'cloneset.apps.kruise.io';
/**
 * `status --watch` polls: each round needs the CloneSet and a list of its Pods (for the per-revision counts), and
 * one GET plus one LIST a second is cheap next to keeping two watches alive and consistent.
 */
const POLL_MS = 1000;

/** `cloneset/NAME` or `cloneset NAME` → NAME; anything else is a usage error. */
export function parseCloneSetRef(resource: string, name: string | undefined): string {
  const slash = resource.indexOf('/');
  const [kind, n] = slash >= 0 ? [resource.slice(0, slash), resource.slice(slash + 1)] : [resource, name];
  if (slash >= 0 && name !== undefined) throw new Error(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form`);
  if (!KIND_NAMES.has(kind.toLowerCase())) throw new Error(`rollout supports only clonesets (cloneset/NAME), not "${kind}"`);
  if (!n) throw new Error(`a CloneSet name is required: cloneset/NAME`);
  return n;
}

/** What `rollout status` prints and decides, from the CloneSet and its Pods. */
export interface RolloutView {
  complete: boolean;
  /** One line on where the rollout stands. */
  summary: string;
  /** Per revision: `revision NAME (update|current): N pods, R ready`. */
  revisions: string[];
}

function isPodReady(p: Pod): boolean {
  return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

export function rolloutView(cs: CloneSet, pods: readonly Pod[]): RolloutView {
  const name = cs.metadata.name ?? '';
  const s = cs.status;
  const replicas = cs.spec.replicas ?? 1;
  const partition = partitionReplicas(cs.spec.updateStrategy?.partition, replicas);
  const want = replicas - partition;
  const observed = (s?.observedGeneration ?? 0) >= (cs.metadata.generation ?? 0);
  const updated = s?.updatedReplicas ?? 0;
  const updatedReady = s?.updatedReadyReplicas ?? 0;
  const revisionsMatch = partition > 0 || (!!s?.updateRevision && s.currentRevision === s.updateRevision);
  const complete = observed && updated === want && updatedReady === want && revisionsMatch;
  const paused = cs.spec.updateStrategy?.paused ? ', paused' : '';
  let summary: string;
  if (complete) summary = `cloneset "${name}" successfully rolled out (${updatedReady} of ${replicas} updated and ready, partition ${partition}${paused})`;
  else if (!observed) summary = `Waiting for cloneset "${name}" spec update to be observed...`;
  else if (updated < want) summary = `Waiting for cloneset "${name}" rollout to finish: ${updated} out of ${want} new pods have been updated${paused}...`;
  else if (updatedReady < want) summary = `Waiting for cloneset "${name}" rollout to finish: ${updatedReady} of ${want} updated pods are ready${paused}...`;
  else if (updated > want) summary = `Waiting for cloneset "${name}" rollout to finish: ${updated - want} updated pods above replicas - partition${paused}...`;
  else summary = `Waiting for cloneset "${name}" rollout to finish: current revision not yet the update revision${paused}...`;

  // Pods per revision label (a full name or, with CloneSetShortHash, the hash alone), update revision first.
  const groups = new Map<string, { pods: number; ready: number }>();
  for (const p of pods) {
    const label = p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '<none>';
    const key = s?.updateRevision && podMatchesRevision(label, s.updateRevision) ? s.updateRevision
      : s?.currentRevision && podMatchesRevision(label, s.currentRevision) ? s.currentRevision : label;
    const g = groups.get(key) ?? { pods: 0, ready: 0 };
    g.pods++;
    if (isPodReady(p)) g.ready++;
    groups.set(key, g);
  }
  if (s?.updateRevision && !groups.has(s.updateRevision)) groups.set(s.updateRevision, { pods: 0, ready: 0 });
  const order = (k: string): number => (k === s?.updateRevision ? 0 : k === s?.currentRevision ? 1 : 2);
  const revisions = [...groups.entries()]
    .sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, g]) => {
      const role = [k === s?.updateRevision ? 'update' : '', k === s?.currentRevision ? 'current' : ''].filter(Boolean).join(', ');
      return `  revision ${k}${role ? ` (${role})` : ''}: ${g.pods} pods, ${g.ready} ready`;
    });
  return { complete, summary, revisions };
}

function isNotFoundError(e: unknown): boolean {
  return KubeApiError.is(e) && e.code === 404 && !!e.status?.details?.name;
}

function apiFailure(e: unknown): string {
  if (KubeApiError.is(e)) {
    if (e.code === 404 && !e.status?.details?.name) {
      return 'the server does not serve clonesets.apps.kruise.io (are the kruise-ts CRDs installed? kubectl apply -f deploy/crds/)';
    }
    return `${e.reason}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

interface Session {
  client: KubeClient;
  namespace: string;
  name: string;
  io: RolloutIo;
}

async function getCloneSet(x: Session, signal?: AbortSignal): Promise<CloneSet> {
  try {
    return await x.client.get<CloneSet>(resources.cloneSets, x.namespace, x.name, signal);
  } catch (e) {
    if (isNotFoundError(e)) x.io.fail(`clonesets.apps.kruise.io "${x.name}" not found in namespace "${x.namespace}"`);
    throw e;
  }
}

async function listPods(x: Session, cs: CloneSet, signal?: AbortSignal): Promise<Pod[]> {
  const selector = cs.status?.labelSelector
    ?? Object.entries(cs.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const list = await x.client.list<KubeObject>(resources.pods, { namespace: x.namespace, labelSelector: selector, ...(signal ? { signal } : {}) });
  return (list.items as unknown as Pod[]).filter((p) => !p.metadata.deletionTimestamp
    && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'
    && p.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === cs.metadata.uid));
}

async function status(x: Session, flags: RolloutStatusFlags): Promise<never> {
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = flags.watch && flags.timeout > 0 ? Date.now() + flags.timeout : undefined;
  let last = '';
  try {
    for (;;) {
      const cs = await getCloneSet(x, interrupt.signal);
      const view = rolloutView(cs, await listPods(x, cs, interrupt.signal));
      const text = `${view.summary}\n${view.revisions.join('\n')}\n`;
      if (text !== last) x.io.out(text);
      last = text;
      if (view.complete) x.io.exit(ROLLOUT_EXIT_COMPLETE);
      if (!flags.watch) x.io.exit(ROLLOUT_EXIT_TIMEOUT);
      const left = deadline === undefined ? POLL_MS : deadline - Date.now();
      if (left <= 0) {
        x.io.err(`kruise-ts: timed out waiting for the rollout of cloneset "${x.name}" after ${flags.timeout} ms\n`);
        x.io.exit(ROLLOUT_EXIT_TIMEOUT);
      }
      await sleep(Math.min(POLL_MS, left), undefined, { signal: interrupt.signal });
    }
  } catch (e) {
    if (interrupt.signal.aborted) x.io.exit(ROLLOUT_EXIT_INTERRUPTED);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function setPaused(x: Session, paused: boolean): Promise<void> {
  const cs = await getCloneSet(x);
  if (Boolean(cs.spec.updateStrategy?.paused) === paused) {
    x.io.out(`${QUALIFIED}/${x.name} already ${paused ? 'paused' : 'resumed'}\n`);
    return;
  }
  // Merge patch: only `paused` changes, the rest of updateStrategy stays as it is.
  await mergePatch(x.client, resources.cloneSets, x.namespace, x.name, { spec: { updateStrategy: { paused } } });
  x.io.out(`${QUALIFIED}/${x.name} ${paused ? 'paused' : 'resumed'}\n`);
}

type JsonObject = { [key: string]: JsonValue };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7386) turning `from` into `to`: `to`'s values, with `null` for keys only `from` has,
 * so the restored template does not keep fields the newer one added (a label, a nodeSelector).
 */
export function mergePatchFor(from: JsonValue | undefined, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const [k, v] of Object.entries(to)) {
    const old = isObject(from) ? from[k] : undefined;
    patch[k] = isObject(v) && isObject(old) ? mergePatchFor(old, v) : v;
  }
  if (isObject(from)) for (const k of Object.keys(from)) if (!Object.hasOwn(to, k)) patch[k] = null;
  return patch;
}

/** The template stored in a revision's data (`{"spec":{"template":{…,"$patch":"replace"}}}`, §6.1), without `$patch`. */
export function revisionTemplate(rev: ControllerRevision): JsonObject | undefined {
  const data: unknown = typeof rev.data === 'string' ? JSON.parse(rev.data) : rev.data;
  const spec = isObject(data) ? data['spec'] : undefined;
  const template = isObject(spec) ? spec['template'] : undefined;
  if (!isObject(template)) return undefined;
  const { $patch: _drop, ...rest } = template;
  return rest;
}

/** The revision before the update revision: the highest revision number below it among the CloneSet's own. */
export function previousRevision(cs: CloneSet, revisions: readonly ControllerRevision[]): ControllerRevision | undefined {
  const own = revisions.filter((r) => r.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === cs.metadata.uid));
  const update = own.find((r) => r.metadata.name === cs.status?.updateRevision);
  if (!update) return undefined;
  return own.filter((r) => r.revision < update.revision).sort((a, b) => b.revision - a.revision)[0];
}

async function undo(x: Session): Promise<void> {
  const cs = await getCloneSet(x);
  if (!cs.status?.updateRevision || (cs.status.observedGeneration ?? 0) < (cs.metadata.generation ?? 0)) {
    x.io.fail(`cloneset "${x.name}": the controller has not observed its latest spec yet; try again when it has`);
  }
  const list = await x.client.list<KubeObject>(resources.controllerRevisions, { namespace: x.namespace });
  const prev = previousRevision(cs, list.items as unknown as ControllerRevision[]);
  if (!prev) x.io.fail(`cloneset "${x.name}": no revision before ${cs.status.updateRevision} to roll back to`);
  const template = revisionTemplate(prev);
  if (!template) x.io.fail(`controllerrevision "${prev.metadata.name ?? ''}" holds no pod template`);
  // resourceVersion makes the patch fail with a conflict if the template changed since it was read.
  await mergePatch(x.client, resources.cloneSets, x.namespace, x.name, {
    metadata: { resourceVersion: cs.metadata.resourceVersion },
    spec: { template: mergePatchFor(cs.spec.template as unknown as JsonValue, template) },
  });
  x.io.out(`${QUALIFIED}/${x.name} rolled back to revision ${prev.revision} (${prev.metadata.name ?? ''})\n`);
}

export async function runRollout(
  action: RolloutAction, resource: string, name: string | undefined, flags: RolloutFlags, io: RolloutIo,
): Promise<void> {
  let csName: string;
  try {
    csName = parseCloneSetRef(resource, name);
  } catch (e) {
    io.fail((e as Error).message);
  }
  let kc: ClusterAccess;
  try {
    kc = await loadKubeConfig({
      ...(flags.kubeconfig ? { kubeconfigPath: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}),
      ...(process.env['KUBECONFIG'] ? { kubeconfigEnv: process.env['KUBECONFIG'] } : {}),
      ...(process.env['HOME'] ? { homeDir: process.env['HOME'] } : {}),
    });
  } catch (e) {
    io.fail(e instanceof Error ? e.message : String(e));
  }
  const client = makeClient({ kubeConfig: kc, role: 'cli', version: VERSION });
  const x: Session = { client, namespace: flags.namespace ?? (kc.currentNamespace?.() || 'default'), name: csName, io };
  try {
    if (action === 'status') await status(x, flags as RolloutStatusFlags);
    else if (action === 'pause' || action === 'resume') await setPaused(x, action === 'pause');
    else await undo(x);
  } catch (e) {
    io.fail(apiFailure(e));
  } finally {
    client.close();
  }
}

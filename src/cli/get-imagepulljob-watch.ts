/**
 * The live view of one ImagePullJob: an informer on the job (field selector `metadata.name`) and one on the
 * NodeImages (where the per-node progress lives), re-rendered on every change until the job's outcome is known
 * (`jobOutcome`), the job is deleted, the timeout passes or the caller aborts.
 *
 * The NodeImage informer watches every NodeImage, as the coordinator does: a NodeImage does not say which jobs it
 * serves in a way a selector can express (owner references sit inside `spec.images[*].tags`). On a cluster of
 * thousands of nodes that is one list and one watch of small objects, fine for an interactive command.
 */
import type { Logger } from 'pino';
import type { ImagePullJob } from '../api/imagepulljob-types.js';
import type { NodeImage } from '../api/nodeimage-types.js';
import { jobImageOf } from '../coordinator/imagepulljob/imagepulljob-controller.js';
import type { JobImage } from '../coordinator/imagepulljob/nodeimage-tag-sync.js';
import { InformerFactory } from '../kube/informer/informer-factory.js';
import type { KubeClient } from '../kube/kube-client.js';
import { resources } from '../kube/resource-ref.js';
import {
  EXIT_INTERRUPTED, EXIT_TIMEOUT, buildJobProgress, exitCodeOf, jobOutcome, outcomeOnDelete,
  type JobOutcome, type JobProgressView,
} from './get-imagepulljob-progress.js';
import type { ProgressRenderer } from './get-imagepulljob-render.js';

export interface WatchJobOptions {
  client: KubeClient;
  /** The job as first read (it exists). */
  job: ImagePullJob;
  renderer: ProgressRenderer;
  /** 0 or undefined: no limit. */
  timeoutMs?: number;
  /** Ctrl-C. */
  signal: AbortSignal;
  logger?: Logger;
}

export interface WatchJobResult {
  exitCode: number;
  outcome: JobOutcome;
  /** Why the watch ended without an outcome (timeout, interrupt), for stderr. */
  note?: string;
}

/** The job's image key, or undefined when its image does not parse (the view then has no node rows). */
export function jobImageOrUndefined(job: ImagePullJob): JobImage | undefined {
  try { return jobImageOf(job.spec?.image ?? ''); } catch { return undefined; }
}

export async function watchImagePullJob(o: WatchJobOptions): Promise<WatchJobResult> {
  const namespace = o.job.metadata.namespace ?? '';
  const name = o.job.metadata.name ?? '';
  const uid = o.job.metadata.uid;
  const image = jobImageOrUndefined(o.job);
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const factory = new InformerFactory({ client: o.client, ...(o.logger ? { logger: o.logger } : {}) });
  const jobs = factory.informerFor<ImagePullJob>(resources.imagePullJobs, { namespace, fieldSelector: `metadata.name=${name}` });
  const nodeImages = factory.informerFor<NodeImage>(resources.nodeImages);

  let last: ImagePullJob = o.job;
  let deleted = false;
  let synced = false;
  let scheduled = false;
  // Until the caches sync, what the first read said (no node rows): enough for a timeout or Ctrl-C to report.
  let view: JobProgressView | undefined = buildJobProgress(o.job, image, []);
  let settle!: (r: WatchJobResult) => void;
  const done = new Promise<WatchJobResult>((resolve) => { settle = resolve; });
  let finished = false;

  const finish = (r: WatchJobResult): void => {
    if (finished) return;
    finished = true;
    o.renderer.finish(r.outcome, view);
    settle(r);
  };

  const evaluate = (): void => {
    scheduled = false;
    if (finished || !synced) return;
    view = buildJobProgress(last, image, nodeImages.cache.list());
    const outcome = deleted ? outcomeOnDelete(view) : jobOutcome(view);
    if (outcome.state === 'running') o.renderer.update(view);
    else finish({ exitCode: exitCodeOf(outcome), outcome });
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(evaluate);
  };

  const onJob = (obj: ImagePullJob): void => {
    // Same name, new uid: ours was deleted and another job took its name.
    if (uid && obj.metadata.uid && obj.metadata.uid !== uid) deleted = true;
    else last = obj;
    schedule();
  };
  jobs.addHandler({
    onAdd: onJob,
    onUpdate: (_old, obj) => onJob(obj),
    onDelete: (obj) => {
      if (!uid || !obj.metadata.uid || obj.metadata.uid === uid) { last = obj; deleted = true; }
      schedule();
    },
  });
  nodeImages.addHandler({ onAdd: schedule, onUpdate: schedule, onDelete: schedule });

  const onAbort = (): void => finish({ exitCode: EXIT_INTERRUPTED, outcome: { state: 'running' }, note: 'interrupted' });
  o.signal.addEventListener('abort', onAbort, { once: true });
  const timer = o.timeoutMs ? setTimeout(() => finish({
    exitCode: EXIT_TIMEOUT, outcome: { state: 'running' },
    note: `timed out after ${o.timeoutMs! / 1000}s waiting for imagepulljob ${namespace}/${name} to finish`,
  }), Math.min(o.timeoutMs, 2 ** 31 - 1)) : undefined;

  const running = factory.start(signal);
  // waitForSync rejects only on abort, which `done` reports; the catch keeps a late rejection handled.
  const cachesSynced = Promise.all([jobs.waitForSync(signal), nodeImages.waitForSync(signal)]).then(() => true, () => false);
  if (await Promise.race([cachesSynced, done.then(() => false)]) && !finished) {
    // The job may have gone between the first read and the list; the list then has no such object.
    if (!jobs.cache.list().some((j) => !uid || j.metadata.uid === uid)) deleted = true;
    synced = true;
    evaluate();
  }
  const result = await done;
  o.signal.removeEventListener('abort', onAbort);
  if (timer) clearTimeout(timer);
  stop.abort();
  await running;
  return result;
}

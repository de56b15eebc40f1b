/**
 * Applies `decidePreDownload` (spec §4.1): creates the ImagePullJobs for the new images (AlreadyExists is fine),
 * marks the update revision created or ignored, and deletes the CloneSet's jobs once the revisions converged.
 * Errors are only logged by the caller, as upstream: pre-download never blocks scaling or updating.
 */
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import { EventReason, isAlreadyExists, isNotFound, mergePatch, resources } from '../../kube/index.js';
import { decidePreDownload } from './predownload.js';
import type { ControllerRevision } from './revision.js';
import type { CloneSetSyncContext, ResolvedRevisions } from './sync-context.js';

/** `jobs`: the namespace's ImagePullJobs from the cache. */
export async function syncPreDownload(s: CloneSetSyncContext, revs: ResolvedRevisions, jobs: readonly ImagePullJob[]): Promise<void> {
  const { cs, client, rc } = s;
  const ns = cs.metadata.namespace ?? '';
  const decision = decidePreDownload(cs, revs.current, revs.update, s.gates);
  switch (decision.action) {
    case 'disabled':
    case 'none':
      return;
    case 'wait':
      rc.logger.debug({ reason: decision.reason, message: decision.message }, 'pre-download waits');
      return;
    case 'cleanup': {
      const owned = jobs.filter((j) => (j.metadata.ownerReferences ?? []).some((o) => o.controller === true && o.uid === cs.metadata.uid));
      for (const j of owned) {
        try {
          await client.delete(resources.imagePullJobs, ns, j.metadata.name ?? '', { signal: rc.signal });
          rc.logger.info({ job: j.metadata.name }, 'deleted pre-download ImagePullJob after the update converged');
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      return;
    }
    case 'ignore':
      rc.logger.info({ reason: decision.reason, revision: revs.update.metadata.name }, 'no image pre-download for this revision');
      await labelRevision(s, revs.update, decision.revisionLabels);
      return;
    case 'create':
      for (const job of decision.jobs) {
        try {
          await client.create(resources.imagePullJobs, job, rc.signal);
          s.recorder.event(cs, 'Normal', EventReason.CreatedImagePullJob, `created ImagePullJob ${job.metadata.name ?? ''} for image: ${job.spec.image}`);
        } catch (e) {
          if (isAlreadyExists(e)) continue;
          s.recorder.event(cs, 'Warning', EventReason.FailedCreateImagePullJob,
            `failed to create ImagePullJob ${job.metadata.name ?? ''} for image: ${job.spec.image}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      await labelRevision(s, revs.update, decision.revisionLabels);
      return;
  }
}

async function labelRevision(s: CloneSetSyncContext, rev: ControllerRevision, labels: Record<string, string>): Promise<void> {
  await mergePatch(s.client, resources.controllerRevisions, rev.metadata.namespace ?? '', rev.metadata.name ?? '', {
    metadata: { labels },
  }, { signal: s.rc.signal });
}

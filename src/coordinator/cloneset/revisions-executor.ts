/**
 * Applies the revision plan of one reconcile (spec §5.1, §6.2; the plan is `resolveRevisions`): adopts orphaned
 * revisions the selector matches, creates the update revision, renumbers a re-used one (rollback), and deletes
 * history beyond `revisionHistoryLimit`. `collisionCount` is persisted by the status writer.
 *
 * The cache may lag our own writes: a revision created in the last reconcile may be missing from it, so the plan
 * asks to create it again. AlreadyExists with equal data is that case and the stored object is used; with other
 * data it is a hash collision the cache has not shown yet, and the reconcile fails to be retried (by then the
 * cache has the object and the planner raises the collision count).
 */
import { KruiseError } from '../../api/errors.js';
import type { Pod } from '../../api/pod-types.js';
import { isAlreadyExists, isNotFound, mergePatch, resources } from '../../kube/index.js';
import {
  cloneSetOwnerReference, ownedRevisions, resolveRevisions, storedRevisionData, type ControllerRevision,
} from './revision.js';
import type { CloneSetSyncContext, ResolvedRevisions, RevisionObject } from './sync-context.js';

type RevisionWriteContext = Pick<CloneSetSyncContext, 'client' | 'cs' | 'rc'>;

export async function syncRevisions(
  s: RevisionWriteContext, namespaceRevisions: readonly ControllerRevision[], pods: readonly Pod[],
): Promise<ResolvedRevisions> {
  const { cs, client, rc } = s;
  const ns = cs.metadata.namespace ?? '';
  const owned = ownedRevisions(cs, namespaceRevisions);
  const byName = new Map<string, ControllerRevision>(owned.map((r) => [r.metadata.name ?? '', r]));

  // Adoption: orphans matched by the selector get our controller reference (upstream ClaimControllerRevisions).
  for (const r of owned) {
    if ((r.metadata.ownerReferences ?? []).some((o) => o.controller === true)) continue;
    const refs = [...(r.metadata.ownerReferences ?? []), cloneSetOwnerReference(cs)];
    try {
      const adopted = await mergePatch<RevisionObject>(client, resources.controllerRevisions, ns, r.metadata.name ?? '', {
        metadata: { ownerReferences: refs, ...(r.metadata.uid ? { uid: r.metadata.uid } : {}) },
      }, { signal: rc.signal });
      byName.set(adopted.metadata.name ?? '', adopted);
      rc.logger.info({ revision: r.metadata.name }, 'adopted orphaned ControllerRevision');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      byName.delete(r.metadata.name ?? '');
    }
  }

  const plan = resolveRevisions({ cloneSet: cs, revisions: [...byName.values()], namespaceRevisions, pods });
  let update = plan.updateRevision;
  if (plan.create) {
    try {
      update = await client.create<RevisionObject>(resources.controllerRevisions, { ...plan.create }, rc.signal);
      rc.logger.info({ revision: update.metadata.name, number: update.revision }, 'created ControllerRevision');
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const name = plan.create.metadata.name ?? '';
      const existing = await client.get<RevisionObject>(resources.controllerRevisions, ns, name, rc.signal);
      if (storedRevisionData(existing) !== storedRevisionData(plan.create)) {
        throw new KruiseError(`ControllerRevision ${name} exists with other data; resolving revisions again`, { reason: 'AlreadyExists', retryable: true });
      }
      update = existing;
    }
  }
  if (plan.renumber) {
    update = await mergePatch<RevisionObject>(client, resources.controllerRevisions, ns, plan.renumber.name, {
      revision: plan.renumber.revision,
    }, { signal: rc.signal });
    rc.logger.info({ revision: plan.renumber.name, number: plan.renumber.revision }, 're-used an older ControllerRevision');
  }
  byName.set(update.metadata.name ?? '', update);
  for (const name of plan.revisionsToDelete) {
    try {
      await client.delete(resources.controllerRevisions, ns, name, { signal: rc.signal });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    byName.delete(name);
  }
  const current = plan.currentRevision.metadata.name === update.metadata.name ? update : plan.currentRevision;
  return { current, update, all: [...byName.values()], collisionCount: plan.collisionCount };
}

/**
 * Wires the CloneSet controller into a Manager. Call once per Manager: it creates (or shares) the informers and
 * relies on the default controller-uid index for Pods, PVCs and ControllerRevisions. The ImagePullJob informer
 * exists only when pre-download can be on (spec §4.1: PreDownloadImageForInPlaceUpdate and KruiseDaemon).
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { KubeObject } from '../../api/meta.js';
import { resources, type Controller, type ManagerContext } from '../../kube/index.js';
import { newCloneSetController, type CloneSetControllerOptions } from './cloneset-controller.js';

export function registerCloneSetControllers(
  ctx: ManagerContext, gates: Pick<FeatureGates, 'enabled'>, options: CloneSetControllerOptions = {},
): Controller[] {
  const preDownload = gates.enabled('PreDownloadImageForInPlaceUpdate') && gates.enabled('KruiseDaemon');
  const { controller } = newCloneSetController(ctx, {
    cloneSets: ctx.informers.informerFor<CloneSet>(resources.cloneSets),
    pods: ctx.informers.informerFor<KubeObject>(resources.pods),
    revisions: ctx.informers.informerFor<KubeObject>(resources.controllerRevisions),
    pvcs: ctx.informers.informerFor<KubeObject>(resources.persistentVolumeClaims),
    ...(preDownload ? { imagePullJobs: ctx.informers.informerFor<ImagePullJob>(resources.imagePullJobs) } : {}),
  }, gates, options, ctx.logger.child({ component: 'cloneset-controller' }));
  return [controller];
}

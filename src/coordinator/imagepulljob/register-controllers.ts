/**
 * Wires the ImagePullJob and NodeImage controllers into a Manager (spec §0.1: only with `KruiseDaemon` on). Call
 * once per Manager: it creates the shared informers and adds their indexes.
 */
import type { FeatureGates } from '../../api/feature-gates.js';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { KubeObject } from '../../api/meta.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import { SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';
import { resources, type Controller, type ManagerContext } from '../../kube/index.js';
import { newNodeImageController, type NodeImageControllerOptions } from '../nodeimage/nodeimage-controller.js';
import { imagePullJobOwnerUids, INDEX_IMAGEPULLJOB_OWNER_UID } from '../nodeimage/nodeimage-owners.js';
import {
  INDEX_JOB_IMAGE_NAME, INDEX_MIRROR_JOB, jobImageNameIndex, mirrorJobIndex, newImagePullJobController,
  type ImagePullJobControllerOptions,
} from './imagepulljob-controller.js';
import { MIRROR_JOB_UID_LABEL } from './secret-mirror.js';

export interface ImagePullControllersOptions {
  nodeImage?: NodeImageControllerOptions;
  imagePullJob?: ImagePullJobControllerOptions;
}

export function registerImagePullControllers(
  ctx: ManagerContext, gates: Pick<FeatureGates, 'enabled'>, options: ImagePullControllersOptions = {},
): Controller[] {
  if (!gates.enabled('KruiseDaemon')) return [];
  const nodes = ctx.informers.informerFor<KubeObject>(resources.nodes);
  const nodeImages = ctx.informers.informerFor<NodeImage>(resources.nodeImages);
  nodeImages.addIndexer(INDEX_IMAGEPULLJOB_OWNER_UID, imagePullJobOwnerUids);
  const jobs = ctx.informers.informerFor<ImagePullJob>(resources.imagePullJobs);
  jobs.addIndexer(INDEX_JOB_IMAGE_NAME, jobImageNameIndex);
  const pods = ctx.informers.informerFor<KubeObject>(resources.pods);
  const mirrors = ctx.informers.informerFor<KubeObject>(resources.secrets, { namespace: SYSTEM_NAMESPACE, labelSelector: MIRROR_JOB_UID_LABEL });
  mirrors.addIndexer(INDEX_MIRROR_JOB, mirrorJobIndex);
  const ni = newNodeImageController(ctx, { nodes, nodeImages, jobs }, options.nodeImage, ctx.logger.child({ component: 'nodeimage-controller' }));
  const ipj = newImagePullJobController(ctx, { jobs, nodeImages, pods, mirrors }, options.imagePullJob, ctx.logger.child({ component: 'imagepulljob-controller' }));
  return [ni.controller, ipj.controller];
}

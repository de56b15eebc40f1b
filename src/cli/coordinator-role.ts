/**
 * `kruise-ts coordinator`: the ImagePullJob controllers and the admission webhooks on the shared runtime,
 * leader-elected. Imported only when the coordinator runs.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { parseFeatureGates } from '../api/feature-gates.js';
import { startAdmissionServer } from '../coordinator/admission/index.js';
import { registerCloneSetControllers } from '../coordinator/cloneset/register-controllers.js';
import { registerImagePullControllers } from '../coordinator/imagepulljob/index.js';
import { registerSidecarSetController } from '../coordinator/sidecarset/sidecarset-controller.js';
import { buildRuntime, makeManager, type BuiltRole, type RoleEnv, type RoleFlags } from './runtime-role.js';

export async function buildCoordinatorRole(flags: RoleFlags, env: RoleEnv, log: Logger): Promise<BuiltRole> {
  const rt = await buildRuntime('coordinator', flags, env);
  const gates = parseFeatureGates(flags.featureGates ?? '');
  const identity = `${env.podName ?? hostname()}_${randomBytes(4).toString('hex')}`;
  // The ImagePullJob and NodeImage controllers run only with KruiseDaemon on (spec §0.1); SidecarSet and CloneSet
  // have no gate.
  const manager = makeManager('coordinator', rt, flags, identity, log,
    (ctx) => [...registerImagePullControllers(ctx, gates), ...registerSidecarSetController(ctx), ...registerCloneSetControllers(ctx, gates)]);
  let service: { namespace: string; name: string } | undefined;
  if (flags.webhookService) {
    const m = /^([^/]+)\/([^/]+)$/.exec(flags.webhookService);
    if (!m) throw new KruiseError(`--webhook-service ${flags.webhookService}: expected NAMESPACE/NAME`, { reason: 'Invalid', fieldPath: '--webhook-service' });
    service = { namespace: m[1]!, name: m[2]! };
  }
  const { client, registry } = rt;
  const run = async (signal: AbortSignal): Promise<void> => {
    // Every replica serves webhooks (the API server may call any of them); only the leader reconciles.
    const admission = flags.webhookPort !== undefined
      ? await startAdmissionServer({
        port: flags.webhookPort, host: flags.webhookHost ?? '0.0.0.0', gates, client, registry, logger: log.child({ component: 'admission' }),
        ...(flags.certDir ? { certDir: flags.certDir } : {}),
        ...(service ? { serviceRef: service } : {}),
        ...(flags.webhookUrlBase ? { urlBase: flags.webhookUrlBase } : {}),
      })
      : undefined;
    if (admission) log.info({ port: admission.port }, 'admission webhooks serving');
    try {
      await manager.start(signal);
    } finally {
      await admission?.close(5000);
      client.close();
    }
  };
  return { manager, identity, run };
}

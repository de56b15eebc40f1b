/**
 * `kruise-ts agent`: the node agent's controllers on the shared runtime. Imported only when the agent runs; it must
 * not import src/coordinator/** or src/sandbox/**, which would cost the agent RSS it is budgeted against (64 MiB).
 */
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { buildAgent } from '../agent/index.js';
import { buildRuntime, makeManager, type BuiltRole, type RoleEnv, type RoleFlags } from './runtime-role.js';

export async function buildAgentRole(flags: RoleFlags, env: RoleEnv, log: Logger): Promise<BuiltRole> {
  const nodeName = flags.nodeName || env.nodeName;
  if (!nodeName) {
    throw new KruiseError('the agent needs its node: pass --node-name or set NODE_NAME (the DaemonSet sets it from spec.nodeName)', { reason: 'Invalid', fieldPath: '--node-name' });
  }
  const rt = await buildRuntime('agent', flags, env);
  const identity = nodeName;
  // The agent's CRI runtime is discovered when it runs, never at build time: a late runtime must not crash-loop it.
  const agent = buildAgent({
    nodeName: identity, logger: log.child({ role: 'agent', identity }),
    ...(flags.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: flags.maxConcurrentPulls } : {}),
    ...(flags.criEndpoint ? { criEndpoint: flags.criEndpoint } : {}),
    ...(flags.hostRoot ? { hostRoot: flags.hostRoot } : {}),
    ...(flags.hotUpgradeTimeoutSeconds !== undefined ? { hotUpgradeTimeoutMs: flags.hotUpgradeTimeoutSeconds * 1000 } : {}),
  });
  const manager = makeManager('agent', rt, flags, identity, log, (ctx) => agent.controllers(ctx));
  manager.healthServer()?.addReadinessCheck('cri-runtime', agent.criReadiness);
  const run = async (signal: AbortSignal): Promise<void> => {
    try {
      await manager.start(signal);
    } finally {
      rt.client.close();
    }
  };
  return { manager, identity, run };
}

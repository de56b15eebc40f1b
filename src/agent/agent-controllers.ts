/**
 * What `kruise-ts agent` runs inside its Manager: the CRI connection (discovered at start, retried with backoff
 * while the runtime is late, reported on /readyz) and the controllers of its node. Today that is the image puller;
 * the SidecarSet hot-upgrade swap (src/agent/hotupgrade) on the node's Pods.
 */
import type { Logger } from 'pino';
import { parseCriEndpoint } from '../cri/cri-endpoint.js';
import type { Controller } from '../kube/controller/index.js';
import type { ReadinessCheck } from '../kube/health-server.js';
import type { ManagerContext } from '../kube/manager.js';
import { CriConnector, type CriConnectorOptions } from './cri-connector.js';
import { HotUpgradeController } from './hotupgrade/swap-controller.js';
import { ImagePullerController } from './imagepuller/imagepuller-controller.js';

export interface AgentOptions {
  nodeName: string;
  /** `--max-concurrent-pulls`. @default 2 */
  maxConcurrentPulls?: number;
  /** How long a hot-upgraded sidecar may take to run Ready before the swap fails. @default 120000 */
  hotUpgradeTimeoutMs?: number;
  /** `--cri-endpoint`; discovery under `hostRoot` when absent. */
  criEndpoint?: string;
  /** `--host-root`. @default '/' */
  hostRoot?: string;
  logger: Logger;
  /** Tests replace discovery or the client. */
  cri?: Pick<CriConnectorOptions, 'discover' | 'connect' | 'initialBackoffMs' | 'maxBackoffMs'>;
}

export interface AgentParts {
  readonly cri: CriConnector;
  /** For the Manager's `controllers` option. */
  controllers(ctx: ManagerContext): Controller[];
  /** `cri-runtime` readiness: the discovery error until a runtime answers. */
  readonly criReadiness: ReadinessCheck;
}

/** Builds the agent's parts; throws (start-up error) on a malformed `--cri-endpoint`, not on a missing runtime. */
export function buildAgent(o: AgentOptions): AgentParts {
  if (o.criEndpoint !== undefined) parseCriEndpoint(o.criEndpoint);
  const cri = new CriConnector({
    hostRoot: o.hostRoot ?? '/',
    logger: o.logger,
    ...(o.criEndpoint !== undefined ? { endpoint: o.criEndpoint } : {}),
    ...o.cri,
  });
  return {
    cri,
    criReadiness: cri.readinessCheck,
    controllers: (ctx) => [new ImagePullerController({
      nodeName: o.nodeName,
      client: ctx.client,
      informers: ctx.informers,
      recorder: ctx.recorder,
      cri,
      logger: ctx.logger,
      registry: ctx.metrics.registry,
      controllerMetrics: ctx.metrics,
      ...(o.maxConcurrentPulls !== undefined ? { maxConcurrentPulls: o.maxConcurrentPulls } : {}),
    }), new HotUpgradeController({
      nodeName: o.nodeName,
      client: ctx.client,
      informers: ctx.informers,
      recorder: ctx.recorder,
      cri,
      logger: ctx.logger,
      registry: ctx.metrics.registry,
      controllerMetrics: ctx.metrics,
      ...(o.hotUpgradeTimeoutMs !== undefined ? { timeoutMs: o.hotUpgradeTimeoutMs } : {}),
    })],
  };
}

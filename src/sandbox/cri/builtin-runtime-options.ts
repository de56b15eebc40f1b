/**
 * Options of the built-in runtime, validated once into a frozen, fully-defaulted object (STYLE habit 11).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KruiseError } from '../../api/errors.js';
import { BuiltinRegistry, type BuiltinRegistryOptions } from './builtin-registry.js';
import { systemRuntimeClock, type RuntimeClock } from './runtime-clock.js';

export interface BuiltinRuntimeOptions {
  /** The registries pulls go to; share one instance between the runtimes of a sandbox. @default a new BuiltinRegistry */
  registry?: BuiltinRegistry | BuiltinRegistryOptions;
  /** Wall clock (epoch ms) and timers. @default systemRuntimeClock */
  clock?: RuntimeClock;
  /**
   * Fixed part of every pull: resolving the manifest with the registry. Paid also when the image is already present
   * (containerd still resolves the tag), and before a registry error is reported. @default 50
   */
  pullLatencyMs?: number;
  /**
   * Fixed part of downloading an image the node does not have (connection set-up, unpacking), on top of its size at
   * `pullBandwidthBytesPerSecond`. Not paid when the image is present, nor by a pull that joins a download in
   * progress. @default 0
   */
  downloadLatencyMs?: number;
  /**
   * Download bandwidth of this node in bytes per second, shared equally by the pulls in progress (see
   * `bandwidth-pool.ts`). `Infinity` makes downloads instant. @default 104857600 (100 MiB/s)
   */
  pullBandwidthBytesPerSecond?: number;
  /**
   * How long a container takes to exit after SIGTERM, unless its container or pod sandbox annotation
   * `STOP_DELAY_ANNOTATION` says otherwise. A delay not shorter than the StopContainer timeout ends in SIGKILL.
   * @default 0
   */
  stopDelayMs?: number;
  /** Makes container and sandbox ids. @default 64 random hex digits, like containerd's */
  newId?: () => string;
  /** Reported by ImageFsInfo. @default '/var/lib/kruise-ts-builtin/io.containerd.snapshotter.v1.overlayfs' */
  imageFsMountpoint?: string;
  /** The first two octets of pod IPs (sandboxes not in the host network get `<prefix>.x.y`). @default '10.88' */
  podIpPrefix?: string;
  /** Parent logger; the runtime logs under `{component: 'builtin-cri'}`. */
  logger?: Logger;
}

export interface CompiledBuiltinRuntimeOptions {
  readonly registry: BuiltinRegistry;
  readonly clock: RuntimeClock;
  readonly pullLatencyMs: number;
  readonly downloadLatencyMs: number;
  readonly pullBandwidthBytesPerSecond: number;
  readonly stopDelayMs: number;
  readonly newId: () => string;
  readonly imageFsMountpoint: string;
  readonly podIpPrefix: string;
  readonly logger: Logger | undefined;
}

export const DEFAULT_PULL_LATENCY_MS = 50;
export const DEFAULT_PULL_BANDWIDTH_BYTES_PER_SECOND = 100 * 1024 * 1024;

function invalid(message: string, fieldPath: string): KruiseError {
  return new KruiseError(message, { reason: 'Invalid', fieldPath });
}

function nonNegative(value: number, field: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw invalid(`${field} must be a non-negative number, got ${value}`, field);
  return value;
}

export function compileBuiltinRuntimeOptions(o: BuiltinRuntimeOptions = {}): CompiledBuiltinRuntimeOptions {
  const bandwidth = o.pullBandwidthBytesPerSecond ?? DEFAULT_PULL_BANDWIDTH_BYTES_PER_SECOND;
  if (!(bandwidth > 0)) {
    throw invalid(`pullBandwidthBytesPerSecond must be positive, got ${bandwidth}`, 'pullBandwidthBytesPerSecond');
  }
  const podIpPrefix = o.podIpPrefix ?? '10.88';
  if (!/^(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(podIpPrefix)) {
    throw invalid(`podIpPrefix must be two octets like 10.88, got ${JSON.stringify(podIpPrefix)}`, 'podIpPrefix');
  }
  return Object.freeze({
    registry: o.registry instanceof BuiltinRegistry ? o.registry : new BuiltinRegistry(o.registry),
    clock: o.clock ?? systemRuntimeClock,
    pullLatencyMs: nonNegative(o.pullLatencyMs ?? DEFAULT_PULL_LATENCY_MS, 'pullLatencyMs'),
    downloadLatencyMs: nonNegative(o.downloadLatencyMs ?? 0, 'downloadLatencyMs'),
    pullBandwidthBytesPerSecond: bandwidth,
    stopDelayMs: nonNegative(o.stopDelayMs ?? 0, 'stopDelayMs'),
    newId: o.newId ?? (() => randomBytes(32).toString('hex')),
    imageFsMountpoint: o.imageFsMountpoint ?? '/var/lib/kruise-ts-builtin/io.containerd.snapshotter.v1.overlayfs',
    podIpPrefix,
    logger: o.logger?.child({ component: 'builtin-cri' }),
  });
}

/**
 * `startAdmissionServer`: everything the coordinator's webhooks need, in one call — certificates (cert-dir or a
 * self-signed CA), the handlers and routes, the HTTPS server, metrics, and getting our webhook configurations
 * ready (patching the CA bundle in a cluster; applying the whole configurations in the sandbox).
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FeatureGates, KubeObject, SidecarSet } from '../../api/index.js';
import { InformerFactory, resources, type KubeClient } from '../../kube/index.js';
import {
  applyWebhookConfigurations, createSelfSignedServingCertificate, patchCaBundle, readCertDir, serviceHostnames,
  sharedSelfSignedCertificate,
  type ServingCertificate,
} from './certificates.js';
import { cachedSidecarSets, kubeClientLookups, type AdmissionLookups } from './lookups.js';
import { sidecarSetHashAnnotations } from '../sidecarset/hash.js';
import { AdmissionMetrics } from './metrics.js';
import { buildRoutes } from './routes.js';
import {
  buildWebhookConfigurations, WEBHOOK_CONFIGURATION_NAMES, type ClientConfigTarget, type ServiceRef,
} from './webhook-configurations.js';
import { WebhookServer } from './webhook-server.js';

/**
 * What to do with our Mutating/ValidatingWebhookConfigurations at start:
 * - `patch-ca-bundle`: set the CA bundle of the existing ones (deployed from deploy/webhooks.yaml);
 * - `apply`: create them, or replace their webhooks (the sandbox, where nobody applies the YAML);
 * - `none`: leave them alone (cert-manager's CA injector, or tests).
 */
export type ConfigurationMode = 'patch-ca-bundle' | 'apply' | 'none';

export interface AdmissionServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '0.0.0.0' */
  host?: string;
  /** `tls.crt`, `tls.key` (and optional `ca.crt`), reloaded on change. Without it a self-signed CA is made. */
  certDir?: string;
  gates: FeatureGates;
  client: KubeClient;
  registry: Registry;
  logger: Logger;
  /** In a cluster: the Service the API server calls us through. */
  serviceRef?: ServiceRef;
  /**
   * Otherwise: the URL base in `clientConfig.url` (`https://127.0.0.1:9443`). @default `https://<host>:<port>`
   * after listening (127.0.0.1 when host is a wildcard).
   */
  urlBase?: string;
  /** @default 'patch-ca-bundle' with serviceRef, 'apply' otherwise */
  configurations?: ConfigurationMode;
  /** @default kubeClientLookups(client) */
  lookups?: AdmissionLookups;
  /**
   * The pod webhook reads SidecarSets from an informer this server runs (through `lookups` until it has synced).
   * false: every Pod CREATE lists them through `lookups`. @default true, unless `lookups` is given (tests' fakes)
   */
  cacheSidecarSets?: boolean;
  /** @default () => new Date() */
  now?: () => Date;
  /** Upper bound of one review. @default 25000 */
  requestTimeoutMs?: number;
  /** @default 7 MiB */
  maxBodyBytes?: number;
  /** @default 10000 */
  certPollIntervalMs?: number;
  /** Stamps the SidecarSet hash annotations (spec §7.1). @default sidecarSetHashAnnotations from ../sidecarset */
  sidecarSetHashAnnotations?: (set: SidecarSet) => Record<string, string>;
  signal?: AbortSignal;
}

export interface AdmissionServer {
  port: number;
  /** The PEM CA the API server must trust, when we know it (self-signed, or `ca.crt` in certDir). */
  caBundlePem: string | undefined;
  /** The configurations as built for this server (with url or service, and the CA bundle when known). */
  configurations: readonly KubeObject[];
  server: WebhookServer;
  /** Stops the server, letting reviews in flight finish for up to `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

function wildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const host = options.host ?? '0.0.0.0';
  const logger = options.logger.child({ component: 'admission' });
  const mode: ConfigurationMode = options.configurations ?? (options.serviceRef ? 'patch-ca-bundle' : 'apply');

  let cert: ServingCertificate;
  if (options.certDir !== undefined) {
    cert = await readCertDir(options.certDir);
  } else {
    const ips = !wildcard(host) && isIP(host) !== 0 ? [host] : [];
    const make = (): Promise<ServingCertificate> => createSelfSignedServingCertificate({
      hostnames: options.serviceRef ? serviceHostnames(options.serviceRef) : [],
      ipAddresses: ips,
      now: (options.now ?? (() => new Date()))(),
    });
    // Behind a Service every replica must present the same certificate (the API server trusts one CA bundle).
    cert = options.serviceRef ? await sharedSelfSignedCertificate(options.client, options.serviceRef.namespace, make) : await make();
  }

  const metrics = new AdmissionMetrics(options.registry);
  const lookups = options.lookups ?? kubeClientLookups(options.client);
  // Stopped with the server; until its first list the pod webhook reads through `lookups`.
  const informersStop = new AbortController();
  let informersDone: Promise<void> = Promise.resolve();
  let podSidecarSets: Pick<AdmissionLookups, 'listSidecarSets'> | undefined;
  if (options.cacheSidecarSets ?? options.lookups === undefined) {
    const informers = new InformerFactory({ client: options.client, logger });
    podSidecarSets = cachedSidecarSets(informers.informerFor(resources.sidecarSets), lookups);
    informersDone = informers.start(informersStop.signal).catch((e: unknown) => {
      logger.error({ err: e }, 'SidecarSet informer stopped');
    });
  }
  const stopInformers = async (): Promise<void> => {
    informersStop.abort(new Error('admission server closing'));
    await informersDone;
  };
  const routes = buildRoutes({
    gates: options.gates,
    lookups,
    ...(podSidecarSets ? { podSidecarSets } : {}),
    metrics,
    // The SidecarSet mutating webhook stamps kruise.io/sidecarset-hash and -hash-without-image, as upstream does.
    sidecarSetHashAnnotations: options.sidecarSetHashAnnotations ?? sidecarSetHashAnnotations,
  });
  const server = await WebhookServer.start({
    host, port: options.port, certPem: cert.certPem, keyPem: cert.keyPem, routes, logger, metrics,
    ...(options.certDir !== undefined ? { certDir: options.certDir } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.certPollIntervalMs !== undefined ? { certPollIntervalMs: options.certPollIntervalMs } : {}),
  }).catch(async (e: unknown) => {
    await stopInformers();
    throw e;
  });

  const target: ClientConfigTarget = options.serviceRef
    ? { service: options.serviceRef }
    : { urlBase: options.urlBase ?? `https://${wildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${server.port}` };
  const configurations = buildWebhookConfigurations({ target, ...(cert.caPem !== undefined ? { caBundlePem: cert.caPem } : {}) });

  try {
    if (mode === 'apply') {
      await applyWebhookConfigurations(options.client, configurations, options.signal);
      logger.info({ names: configurations.map((c) => c.metadata.name) }, 'webhook configurations applied');
    } else if (mode === 'patch-ca-bundle') {
      if (cert.caPem === undefined) {
        logger.info('no ca.crt in cert-dir: leaving the webhook configurations\' caBundle alone');
      } else {
        const r = await patchCaBundle(options.client, WEBHOOK_CONFIGURATION_NAMES, cert.caPem, options.signal);
        if (r.missing.length > 0) logger.warn({ missing: r.missing }, 'webhook configurations not found; their caBundle was not set');
        logger.info({ patched: r.patched }, 'webhook caBundle set');
      }
    }
  } catch (e) {
    await server.close(0);
    await stopInformers();
    throw e;
  }

  return {
    port: server.port,
    caBundlePem: cert.caPem,
    configurations,
    server,
    close: async (graceMs?: number) => {
      await server.close(graceMs);
      await stopInformers();
    },
  };
}

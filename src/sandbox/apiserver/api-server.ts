/**
 * The embedded Kubernetes API server: storage, REST semantics, watch, discovery, admission webhooks and the
 * server's own controllers (garbage collection, namespace and CRD lifecycle), served over HTTPS on loopback.
 */
import { randomUUID } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/meta.js';
import { AdmissionChain } from './admission/index.js';
import { INITIAL_NAMESPACES } from './builtin-resources.js';
import { CrdController } from './controllers/crd-controller.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { NamespaceController } from './controllers/namespace-controller.js';
import { ApiHandler, type OpenApiPort } from './http/api-handler.js';
import type { FaultInjector } from './http/fault-injection.js';
import { ResourceRegistry } from './resource-registry.js';
import type { AdmissionPort, UserInfo } from './rest/ports.js';
import type { Clock } from './rest/resource-service.js';
import { ResourceService } from './rest/resource-service.js';
import { systemContext } from './rest/request-context.js';
import { MemoryStorage } from './storage/memory-storage.js';
import type { Storage } from './storage/storage.js';
import { WatchHub } from './watch/watch-hub.js';
import { kindHooks, patchPort, schemaPort } from './wiring.js';
import { createOpenApiPort } from './openapi-port.js';

export interface ApiServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 6443 */
  port?: number;
  /** Serving certificate and key (PEM), signed by the CA the kubeconfig carries. */
  tls: { certPem: string; keyPem: string };
  /** Bearer token → user; requests without one of these get 401. */
  tokens: ReadonlyMap<string, UserInfo>;
  clock?: Clock;
  storage?: Storage;
  /** Admission in place of the webhook chain (tests). */
  admission?: AdmissionPort;
  /** @default 10000 */
  bookmarkIntervalMs?: number;
  /**
   * Also serve plain HTTP on this Unix socket (mode 0600: only this user), for the sandbox's own clients in the same
   * process: the same handler, authentication and semantics, without TLS and TCP on loopback.
   */
  localSocketPath?: string;
  /** Test-only fault injection. */
  faults?: FaultInjector;
  logger?: Logger;
}

export class ApiServer {
  readonly storage: Storage;
  readonly registry: ResourceRegistry;
  readonly service: ResourceService;
  private readonly hub: WatchHub;
  private readonly handler: ApiHandler;
  private readonly gc: GarbageCollector;
  private readonly namespaces: NamespaceController;
  private readonly crds: CrdController;
  private server: Server | undefined;
  private localServer: HttpServer | undefined;
  private listening: AddressInfo | undefined;

  private constructor(private readonly options: ApiServerOptions) {
    const log = options.logger?.child({ component: 'apiserver' });
    const onControllerError = (controller: string) => (key: string, e: unknown) =>
      log?.debug({ controller, key, err: e instanceof Error ? e.message : String(e) }, 'sandbox controller retry');
    this.storage = options.storage ?? new MemoryStorage();
    this.registry = new ResourceRegistry();
    const admission = options.admission ?? new AdmissionChain({
      listMutating: () => this.storage.list('admissionregistration.k8s.io/mutatingwebhookconfigurations').map((e) => e.object),
      listValidating: () => this.storage.list('admissionregistration.k8s.io/validatingwebhookconfigurations').map((e) => e.object),
      getNamespaceLabels: (ns) => {
        const e = this.storage.get('/namespaces', '', ns);
        return e ? (e.object.metadata.labels ?? {}) : undefined;
      },
      uid: () => randomUUID(),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.service = new ResourceService({
      storage: this.storage,
      registry: this.registry,
      admission,
      schemas: schemaPort,
      patches: patchPort,
      clock: options.clock ?? { now: () => new Date() },
      kindHooks,
    });
    this.hub = new WatchHub(this.storage);
    this.crds = new CrdController(this.service, this.registry, onControllerError('crd'));
    this.gc = new GarbageCollector(this.service, this.registry, onControllerError('garbage-collector'));
    this.namespaces = new NamespaceController(this.service, this.registry, onControllerError('namespace'));
    const clock = options.clock ?? { now: () => new Date() };
    const openapi: OpenApiPort = createOpenApiPort(this.registry, () => clock.now());
    this.handler = new ApiHandler({
      service: this.service,
      registry: this.registry,
      hub: this.hub,
      openapi,
      patches: patchPort,
      tokens: options.tokens,
      serverAddress: () => `127.0.0.1:${this.port}`,
      ...(options.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
      ...(log ? { onRequest: (i) => log.trace(i, 'request') } : {}),
    });
  }

  /** Creates the server, its initial namespaces, and starts listening. */
  static async start(options: ApiServerOptions): Promise<ApiServer> {
    const s = new ApiServer(options);
    await s.bootstrap();
    await s.listen();
    return s;
  }

  get port(): number { return this.listening?.port ?? 0; }

  get url(): string { return `https://127.0.0.1:${this.port}`; }

  /** The Unix socket serving plain HTTP, when `localSocketPath` was given. */
  get localSocketPath(): string | undefined { return this.localServer ? this.options.localSocketPath : undefined; }

  private async bootstrap(): Promise<void> {
    const nsType = this.registry.lookup('', 'v1', 'namespaces')!;
    for (const name of INITIAL_NAMESPACES) {
      if (this.storage.get('/namespaces', '', name)) continue;
      await this.service.create(nsType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, systemContext());
    }
  }

  private async listen(): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse): void => { void this.handler.handle(req, res); };
    const tune = (server: Server | HttpServer): void => {
      server.keepAliveTimeout = 65_000;
      // Watches are long-lived: no request timeout on the server side.
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
    };
    const server = createServer({ cert: this.options.tls.certPem, key: this.options.tls.keyPem }, handle);
    tune(server);
    this.server = server;
    const listen = (srv: Server | HttpServer, at: { port: number; host: string } | { path: string }): Promise<void> => new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(at, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    await listen(server, { port: this.options.port ?? 6443, host: '127.0.0.1' });
    this.listening = server.address() as AddressInfo;
    const socketPath = this.options.localSocketPath;
    if (socketPath !== undefined) {
      const local = createHttpServer(handle);
      tune(local);
      await rm(socketPath, { force: true });
      await listen(local, { path: socketPath });
      await chmod(socketPath, 0o600);
      this.localServer = local;
    }
  }

  /** Creates or replaces objects as the system user (used to apply our CRDs at start). */
  async applyObject(obj: KubeObject): Promise<KubeObject> {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') as [string, string] : ['', obj.apiVersion];
    const t = this.registry.lookupKind(group, version, obj.kind);
    if (!t) throw new Error(`no resource serves ${obj.apiVersion} ${obj.kind}`);
    const ns = t.namespaced ? obj.metadata.namespace ?? 'default' : '';
    const existing = this.storage.get(`${t.group}/${t.plural}`, ns, obj.metadata.name ?? '');
    if (!existing) return this.service.create(t, ns, obj, systemContext());
    const next = { ...obj, metadata: { ...obj.metadata, resourceVersion: existing.object.metadata.resourceVersion } };
    return this.service.update(t, ns, obj.metadata.name ?? '', next, systemContext());
  }

  /** Test-only: breaks every open watch connection; returns how many. */
  dropWatches(): number { return this.handler.dropWatches(); }

  /** Resolves when the server's own controllers have nothing queued (tests use it to wait for GC). */
  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await Promise.all([this.gc.idle(), this.namespaces.idle(), this.crds.idle()]);
      await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    this.handler.closeWatches();
    this.gc.close();
    this.namespaces.close();
    this.crds.close();
    this.hub.close();
    for (const server of [this.server, this.localServer]) {
      if (!server) continue;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }
}

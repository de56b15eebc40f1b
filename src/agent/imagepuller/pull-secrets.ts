/**
 * Registry credentials for a NodeImage image from its `pullSecrets` (spec "Pull secrets"): the coordinator mirrors
 * each job's secrets into the system namespace, and the agent reads Secrets there only. A reference to any other
 * namespace is refused and logged (once per reference), never fetched: least privilege (upstream #1793, #2235).
 * Like upstream (§4.6), a secret that cannot be fetched or parsed is logged and skipped, and the pull goes on with
 * what is left (an anonymous attempt is always last). Fetched secrets are cached for `ttlMs`; failures are not.
 * Nothing secret is logged: only namespaces, names and problems whose messages carry no secret content.
 */
import type { Logger } from 'pino';
import type { ReferenceObject } from '../../api/nodeimage-types.js';
import { SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';
import { RegistryKeyring, type PullSecretLike } from '../../cri/registry-credentials.js';
import { isNotFound } from '../../kube/kube-api-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import type { Clock } from '../../kube/token-bucket.js';

export interface PullSecretReaderOptions {
  client: Pick<KubeClient, 'get'>;
  /** The only namespace secrets are read from. @default SYSTEM_NAMESPACE (kruise-system) */
  namespace?: string;
  /** How long a fetched secret is reused. @default 60000 */
  ttlMs?: number;
  /** @default Date.now */
  clock?: Clock;
  logger?: Logger;
}

interface Cached { at: number; secret: PullSecretLike }

export class PullSecretReader {
  readonly namespace: string;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly cache = new Map<string, Cached>();
  private readonly refusedLogged = new Set<string>();

  constructor(private readonly o: PullSecretReaderOptions) {
    this.namespace = o.namespace ?? SYSTEM_NAMESPACE;
    this.ttlMs = o.ttlMs ?? 60_000;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.log = o.logger?.child({ component: 'pull-secrets' });
  }

  /** True when the agent may read this reference. */
  allowed(ref: ReferenceObject): boolean {
    return ref.namespace === this.namespace && typeof ref.name === 'string' && ref.name !== '';
  }

  /** A keyring from the references it may read; refused, missing and malformed secrets are logged and skipped. */
  async keyring(refs: readonly ReferenceObject[], signal?: AbortSignal): Promise<RegistryKeyring> {
    const secrets: PullSecretLike[] = [];
    // Sequential on purpose: an image names a handful of secrets, and the agent's API budget is small (5 qps).
    for (const ref of refs) {
      if (!this.allowed(ref)) {
        this.refuse(ref);
        continue;
      }
      const secret = await this.fetch(ref.name as string, signal);
      if (secret !== undefined) secrets.push(secret);
    }
    const { keyring, problems } = RegistryKeyring.fromSecrets(secrets);
    for (const p of problems) this.log?.warn({ problem: p.message }, 'pull secret skipped: cannot be read as registry credentials');
    return keyring;
  }

  private refuse(ref: ReferenceObject): void {
    const id = `${ref.namespace ?? ''}/${ref.name ?? ''}`;
    if (this.refusedLogged.has(id)) return;
    this.refusedLogged.add(id);
    this.log?.warn({
      namespace: ref.namespace ?? '', name: ref.name ?? '', allowedNamespace: this.namespace,
    }, 'pull secret refused: the agent reads secrets only in the system namespace, where the coordinator mirrors them');
  }

  private async fetch(name: string, signal: AbortSignal | undefined): Promise<PullSecretLike | undefined> {
    const now = this.clock.now();
    const hit = this.cache.get(name);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.secret;
    try {
      const secret: PullSecretLike = await this.o.client.get(resources.secrets, this.namespace, name, signal) as PullSecretLike;
      this.cache.set(name, { at: now, secret });
      return secret;
    } catch (e) {
      signal?.throwIfAborted();
      this.cache.delete(name);
      this.log?.warn({
        namespace: this.namespace, name, notFound: isNotFound(e), err: e instanceof Error ? e.message : String(e),
      }, 'pull secret skipped: cannot fetch it');
      return undefined;
    }
  }
}

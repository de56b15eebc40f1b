/**
 * PullImage with pull-secret credentials: each matching credential in keyring order, then anonymously (spec "Pull
 * secrets"). Only the image and a safe label of the credential (`describeCredential`) are logged; errors were
 * already scrubbed of the attempt's credentials by the client.
 */
import type { Logger } from 'pino';
import type { CriCallOptions, CriClient } from './cri-client.js';
import { CriError, type CriErrorReason } from './cri-error.js';
import type { PodSandboxConfig } from './cri-types.js';
import { parseImageReference, type ParsedReference } from './image-reference.js';
import { describeCredential, toAuthConfig, type RegistryCredential } from './registry-credentials.js';

/**
 * Failures after which another credential may succeed. Registries answer a wrong or missing login with 401/403, and
 * some with 404 for private repositories (Docker Hub: "repository does not exist or may require authorization");
 * containerd wraps registry errors as UNKNOWN. A deadline, a cancel, an unavailable runtime or an invalid request
 * would fail the same way again, and a second full-length attempt would only delay the error.
 */
const TRY_NEXT_CREDENTIAL: ReadonlySet<CriErrorReason> = new Set<CriErrorReason>(['Unauthorized', 'NotFound', 'Unknown']);

export interface AuthenticatedPullOptions extends CriCallOptions {
  sandboxConfig?: PodSandboxConfig;
  logger?: Logger;
}

export interface AuthenticatedPullResult {
  /** What the runtime stored (image id or digest). */
  imageRef: string;
  /** The credential that worked; `null` for anonymous. */
  credential: RegistryCredential | null;
  /** PullImage calls made. */
  attempts: number;
}

/**
 * Pulls `image` trying each entry of `auths` in order (`null` = anonymous; see `pullAuthAttempts`). Throws the
 * last attempt's CriError when none succeeds; `opts.timeoutMs` bounds each attempt.
 */
export async function pullImageWithCredentials(
  client: Pick<CriClient, 'pullImage'>,
  image: string | ParsedReference,
  auths: readonly (RegistryCredential | null)[],
  opts: AuthenticatedPullOptions = {},
): Promise<AuthenticatedPullResult> {
  const ref = typeof image === 'string' ? parseImageReference(image) : image;
  const tries = auths.length === 0 ? [null] : auths;
  const log = opts.logger?.child({ component: 'image-pull', image: ref.toString() });
  const callOptions: CriCallOptions = {
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  };
  let lastError: CriError | undefined;
  for (const [i, credential] of tries.entries()) {
    try {
      const res = await client.pullImage({
        image: { image: ref.toString() },
        auth: credential === null ? null : toAuthConfig(credential),
        sandboxConfig: opts.sandboxConfig ?? null,
      }, callOptions);
      log?.debug({ auth: describeCredential(credential), attempt: i + 1 }, 'image pulled');
      return { imageRef: res.imageRef, credential, attempts: i + 1 };
    } catch (err) {
      if (!CriError.is(err)) throw err;
      lastError = err;
      log?.info({ auth: describeCredential(credential), attempt: i + 1, reason: err.reason, error: err.message },
        'image pull attempt failed');
      if (!TRY_NEXT_CREDENTIAL.has(err.reason) || opts.signal?.aborted === true) throw err;
    }
  }
  // tries is never empty, so the loop ran and failed at least once.
  throw lastError as CriError;
}

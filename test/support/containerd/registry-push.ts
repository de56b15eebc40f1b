/**
 * Pushing an image with the registry HTTP API v2 (distribution's docs/spec/api.md, "Pushing An Image"):
 * for each blob, HEAD to skip what is there, else a monolithic upload (`POST /v2/<name>/blobs/uploads/` → 202 with
 * a Location, then `PUT <Location>&digest=<digest>` with the bytes → 201); then `PUT /v2/<name>/manifests/<tag>`.
 */
import type { Blob, BuiltImage } from './busybox-image.js';

export interface RegistryEndpoint {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Basic credentials, for a registry with htpasswd auth. */
  readonly auth?: { readonly user: string; readonly pass: string } | undefined;
}

const TIMEOUT_MS = 30_000;

function headers(registry: RegistryEndpoint, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (registry.auth !== undefined) {
    h.Authorization = `Basic ${Buffer.from(`${registry.auth.user}:${registry.auth.pass}`).toString('base64')}`;
  }
  return h;
}

async function expectStatus(res: Response, expected: number, what: string): Promise<void> {
  if (res.status === expected) return;
  const body = await res.text().catch(() => '');
  throw new Error(`${what}: HTTP ${res.status} (expected ${expected}): ${body.slice(0, 300)}`);
}

async function pushBlob(registry: RegistryEndpoint, name: string, b: Blob): Promise<void> {
  const head = await fetch(`${registry.url}/v2/${name}/blobs/${b.digest}`, {
    method: 'HEAD', headers: headers(registry), signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (head.status === 200) return;
  const start = await fetch(`${registry.url}/v2/${name}/blobs/uploads/`, {
    method: 'POST', headers: headers(registry), signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await expectStatus(start, 202, `start upload of ${b.digest} to ${name}`);
  await start.body?.cancel();
  const location = start.headers.get('location');
  if (location === null) throw new Error(`start upload to ${name}: no Location header`);
  // The Location may be absolute or relative, and already carries query parameters (the upload state).
  const url = new URL(location, registry.url);
  url.searchParams.set('digest', b.digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: headers(registry, { 'Content-Type': 'application/octet-stream' }),
    body: b.bytes,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await expectStatus(put, 201, `upload of ${b.digest} to ${name}`);
  await put.body?.cancel();
}

/** Pushes the image's blobs and its manifest under `image.tag`; returns the manifest digest the registry reports. */
export async function pushImage(registry: RegistryEndpoint, image: BuiltImage): Promise<string> {
  for (const b of [...image.layers, image.config]) await pushBlob(registry, image.name, b);
  const res = await fetch(`${registry.url}/v2/${image.name}/manifests/${image.tag}`, {
    method: 'PUT',
    headers: headers(registry, { 'Content-Type': image.manifest.mediaType }),
    body: image.manifest.bytes,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await expectStatus(res, 201, `push of manifest ${image.name}:${image.tag}`);
  await res.body?.cancel();
  const digest = res.headers.get('docker-content-digest');
  if (digest !== image.digest) {
    throw new Error(`registry stored ${image.name}:${image.tag} as ${digest ?? '(none)'}, we computed ${image.digest}`);
  }
  return digest;
}

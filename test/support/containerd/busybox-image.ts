/**
 * Test images built offline from the host's static busybox: one gzip tar layer (`/bin/busybox` plus applet
 * symlinks and the usual empty directories), a Docker image config whose `rootfs.diff_ids` names the uncompressed
 * layer, and a Docker schema2 manifest. Nothing in them depends on time or on who built them, so the same busybox
 * binary gives the same digests on every run (zlib's output is fixed for a given Node build).
 *
 * Two images that differ only in `cmd` share the layer but get different configs, hence different image ids. That
 * matters to RemoveImage tests: containerd removes every reference of an image id at once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { BUSYBOX_PATH } from './prerequisites.js';
import { writeTar, type TarEntry } from './tar-writer.js';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_TYPE_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Applets the tests and the pause image use. */
export const BUSYBOX_APPLETS: readonly string[] = [
  'cat', 'echo', 'env', 'false', 'kill', 'ls', 'sh', 'sleep', 'true',
];

export interface Blob {
  readonly mediaType: string;
  /** `sha256:<hex>` of `bytes`. */
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface BusyboxLayer {
  /** The gzip-compressed tar, as pushed. */
  readonly blob: Blob;
  /** `sha256:` of the uncompressed tar: the config's diff_id. */
  readonly diffId: string;
}

export interface BuiltImage {
  /** Repository path within a registry, e.g. `kctd/busybox`. */
  readonly name: string;
  readonly tag: string;
  readonly layers: readonly Blob[];
  readonly config: Blob;
  readonly manifest: Blob;
  /** The manifest digest: what `name@sha256:...` pulls and CRI reports in repoDigests. */
  readonly digest: string;
  /** The config digest: the image id CRI runtimes report. */
  readonly imageId: string;
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, bytes, digest: sha256Digest(bytes) };
}

/** The one layer of every test image. */
export async function buildBusyboxLayer(busyboxPath = BUSYBOX_PATH): Promise<BusyboxLayer> {
  const busybox = await readFile(busyboxPath);
  const entries: TarEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', mode: 0o755, data: busybox },
    ...BUSYBOX_APPLETS.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ];
  const tar = writeTar(entries);
  return { blob: blob(MEDIA_TYPE_LAYER, gzipSync(tar, { level: 6 })), diffId: sha256Digest(tar) };
}

/** Docker's name for the running platform's architecture (image-spec `architecture`). */
function dockerArch(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    default: return process.arch; // arm64, arm, ppc64, s390x, riscv64 share Node's spelling
  }
}

export interface BuildBusyboxImageOptions {
  /** Repository path, e.g. `kctd/busybox`. */
  name: string;
  tag: string;
  /** The image's default command. @default ['sh'] */
  cmd?: readonly string[];
  /** A layer built once and shared by several images. @default a fresh `buildBusyboxLayer()` */
  layer?: BusyboxLayer;
}

export async function buildBusyboxImage(options: BuildBusyboxImageOptions): Promise<BuiltImage> {
  const layer = options.layer ?? await buildBusyboxLayer();
  // Key order is fixed by these literals, so the JSON (and the digest) is too. No `created`: it would be a time.
  const config = blob(MEDIA_TYPE_CONFIG, Buffer.from(JSON.stringify({
    architecture: dockerArch(),
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: [...(options.cmd ?? ['sh'])], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  })));
  const manifest = blob(MEDIA_TYPE_MANIFEST, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: config.mediaType, size: config.bytes.length, digest: config.digest },
    layers: [{ mediaType: layer.blob.mediaType, size: layer.blob.bytes.length, digest: layer.blob.digest }],
  })));
  return {
    name: options.name,
    tag: options.tag,
    layers: [layer.blob],
    config,
    manifest,
    digest: manifest.digest,
    imageId: config.digest,
  };
}

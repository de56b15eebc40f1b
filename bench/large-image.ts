/**
 * A large test image for cold-pull timing: one gzip layer holding a single file of incompressible bytes, so the
 * layer pushed (and pulled) is as big as the file. The bytes are an AES-256-CTR keystream keyed by a seed: random to
 * gzip, identical on every run, so the layer digest is stable and a run can be repeated exactly. The manifest and
 * config come from the harness' image builder (`buildBusyboxImage` with our layer in place of busybox's), so the image
 * has the same shape as every other test image; it holds no busybox and is only pulled, never run.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildBusyboxImage, sha256Digest, writeTar, type BuiltImage } from '../test/support/containerd/index.js';
import { MEDIA_TYPE_LAYER } from '../test/support/containerd/busybox-image.js';

export interface LargeImageOptions {
  name: string;
  tag: string;
  /** Size of the one file in the layer. */
  sizeBytes: number;
  /** Picks the bytes; the same seed gives the same layer digest. */
  seed: number;
}

/** `size` pseudo-random bytes: the AES-256-CTR keystream under key sha256("kruise-ts-bench/<seed>"), zero IV. */
export function seededBytes(size: number, seed: number): Buffer {
  const key = createHash('sha256').update(`kruise-ts-bench/${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

export async function buildLargeImage(o: LargeImageOptions): Promise<BuiltImage> {
  const tar = writeTar([
    { type: 'dir', path: 'data' },
    { type: 'file', path: 'data/random.bin', mode: 0o644, data: seededBytes(o.sizeBytes, o.seed) },
  ]);
  // Level 1: random input comes out as stored blocks at any level, and level 1 gets there fastest.
  const gz = gzipSync(tar, { level: 1 });
  return buildBusyboxImage({
    name: o.name,
    tag: o.tag,
    cmd: ['true'],
    layer: { blob: { mediaType: MEDIA_TYPE_LAYER, bytes: gz, digest: sha256Digest(gz) }, diffId: sha256Digest(tar) },
  });
}

/**
 * The images one built-in runtime holds, indexed like containerd's CRI image store: by image id (the config digest)
 * and by every reference that points at it (`repo:tag` and `repo@digest`). A reference points at one image only:
 * pulling a tag whose content changed moves the tag to the new image and leaves the old one reachable by id and digest,
 * as containerd does.
 */
import type { Image } from '../../cri/cri-types.js';
import type { ParsedReference } from '../../cri/image-reference.js';
import type { BuiltinRegistry, ResolvedImage } from './builtin-registry.js';

export interface StoredImage {
  readonly id: string;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  readonly sizeBytes: number;
}

const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

export class ImageStore {
  private readonly byId = new Map<string, StoredImage>();
  private readonly byRef = new Map<string, StoredImage>();

  constructor(private readonly registry: BuiltinRegistry) {}

  get size(): number {
    return this.byId.size;
  }

  /** Records a pulled image (or adds the pull's references to the image already stored under that id). */
  add(resolved: ResolvedImage): StoredImage {
    let image = this.byId.get(resolved.imageId);
    if (image === undefined) {
      image = { id: resolved.imageId, repoTags: [], repoDigests: [], sizeBytes: resolved.sizeBytes };
      this.byId.set(image.id, image);
    }
    if (resolved.tag !== undefined) this.point(`${resolved.name}:${resolved.tag}`, image, image.repoTags);
    this.point(`${resolved.name}@${resolved.manifestDigest}`, image, image.repoDigests);
    return image;
  }

  private point(ref: string, image: StoredImage, list: string[]): void {
    const previous = this.byRef.get(ref);
    if (previous === image) return;
    if (previous !== undefined) {
      for (const refs of [previous.repoTags, previous.repoDigests]) {
        const i = refs.indexOf(ref);
        if (i >= 0) refs.splice(i, 1);
      }
    }
    this.byRef.set(ref, image);
    list.push(ref);
  }

  /**
   * containerd's `localResolve`: an image id, or a reference normalised as a pull would normalise it, or else a unique
   * prefix of an image id (`sha256:` optional; containerd's digest set matches short ids). `undefined` when absent or
   * when the string is none of these (containerd answers both as not found).
   */
  resolve(refOrId: string): StoredImage | undefined {
    if (IMAGE_ID.test(refOrId)) return this.byId.get(refOrId);
    let ref: ParsedReference | undefined;
    try {
      ref = this.registry.parse(refOrId);
    } catch {
      ref = undefined;
    }
    const byRef = ref === undefined ? undefined : this.byRef.get(this.registry.normalize(ref));
    if (byRef !== undefined) return byRef;
    const hex = /^(?:sha256:)?([a-f0-9]+)$/.exec(refOrId)?.[1];
    if (hex === undefined) return undefined;
    let found: StoredImage | undefined;
    for (const image of this.byId.values()) {
      if (!image.id.startsWith(`sha256:${hex}`)) continue;
      if (found !== undefined) return undefined;
      found = image;
    }
    return found;
  }

  getById(id: string): StoredImage | undefined {
    return this.byId.get(id);
  }

  remove(image: StoredImage): void {
    for (const ref of [...image.repoTags, ...image.repoDigests]) this.byRef.delete(ref);
    this.byId.delete(image.id);
  }

  list(): IterableIterator<StoredImage> {
    return this.byId.values();
  }

  /** Bytes used by all images (ImageFsInfo). */
  usedBytes(): number {
    let total = 0;
    for (const image of this.byId.values()) total += image.sizeBytes;
    return total;
  }
}

/** The CRI view, as containerd 1.6's `toCRIImage` fills it (no uid/username for our images, no spec, not pinned). */
export function toCriImage(image: StoredImage): Image {
  return {
    id: image.id,
    repoTags: [...image.repoTags],
    repoDigests: [...image.repoDigests],
    size: String(image.sizeBytes),
    uid: null,
    username: '',
    spec: null,
    pinned: false,
  };
}

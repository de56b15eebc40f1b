/**
 * One holder per key at a time, waiters served in arrival order, and a wait that the caller's signal can abandon
 * (STYLE habit 5). The image puller keys it by normalised image reference, so one image is never pulled twice at
 * once (spec "Per-node concurrency"), whichever NodeImage entries name it.
 */

/** Gives the key to the next waiter, or frees it. Calling it more than once does nothing. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

interface Entry {
  waiters: Waiter[];
}

export class KeyedMutex {
  /** A key is held exactly while it has an entry here. */
  private readonly entries = new Map<string, Entry>();

  /** Keys held now. */
  get heldCount(): number { return this.entries.size; }

  isHeld(key: string): boolean { return this.entries.has(key); }

  /** Waiters queued for `key`. */
  waiting(key: string): number { return this.entries.get(key)?.waiters.length ?? 0; }

  /**
   * Resolves with a release once `key` is ours; rejects with the signal's reason if it aborts first (the place in
   * the queue is given up, nobody is blocked by it).
   */
  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { waiters: [] });
      return Promise.resolve(this.releaser(key));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const i = entry.waiters.indexOf(waiter);
        if (i >= 0) entry.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      entry.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaser(key: string): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const entry = this.entries.get(key);
      const next = entry?.waiters.shift();
      if (next === undefined) this.entries.delete(key);
      else next.grant(this.releaser(key));
    };
  }
}

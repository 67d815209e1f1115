import fs from 'node:fs';

export interface Lease {
  fd: number;
  /** Gives the descriptor back; the cache closes it when it is no longer wanted. */
  release(): void;
}

interface Entry {
  opening: Promise<number>;
  fd: number | undefined;
  leases: number;
  /** Removed from the store: close as soon as the last lease is back. */
  stale: boolean;
}

/**
 * Open read-only descriptors of blobs, shared by every download of the same blob and kept
 * for the next one. Opening a file per request costs more than the read of a small range
 * (issue 3: a read stream per 4 KiB range caps the rate near a quarter of nginx's); blobs
 * never change, so one descriptor serves positional reads (`pread`) for everyone.
 *
 * Descriptors in use are never closed. Idle ones are closed, least recently used first,
 * once more than `capacity` are open.
 */
export class DescriptorCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly capacity = 256) {}

  /**
   * A descriptor of the file `key` names; `locate` gives its path, and is only called when
   * the file is not open yet. Rejects with the open's error (ENOENT when it is not there).
   */
  async acquire(key: string, locate: () => string = () => key): Promise<Lease> {
    let entry = this.#entries.get(key);
    if (entry && !entry.stale) {
      // Most recently used goes last.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    } else {
      const opened: Entry = { opening: openForReading(locate()), fd: undefined, leases: 0, stale: false };
      entry = opened;
      this.#entries.set(key, opened);
      opened.opening.then(
        (fd) => (opened.fd = fd),
        () => {
          if (this.#entries.get(key) === opened) this.#entries.delete(key);
        },
      );
    }
    entry.leases++;
    const held = entry;
    let fd: number;
    try {
      fd = await held.opening;
    } catch (error) {
      held.leases--;
      throw error;
    }
    let released = false;
    return {
      fd,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        this.#trim(held);
      },
    };
  }

  /** The file is gone from the store: stop handing out its descriptor. */
  forget(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.stale = true;
    this.#entries.delete(key);
    this.#trim(entry);
  }

  /** Open descriptors (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #trim(released: Entry): void {
    if (released.stale && released.leases === 0) {
      close(released);
      return;
    }
    if (this.#entries.size <= this.capacity) return;
    for (const [name, entry] of this.#entries) {
      if (this.#entries.size <= this.capacity) break;
      if (entry.leases === 0 && entry.fd !== undefined) {
        this.#entries.delete(name);
        close(entry);
      }
    }
  }
}

function openForReading(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}

function close(entry: Entry): void {
  // Closing a read-only regular file does not wait on the disk: done at once, so a released
  // descriptor is gone when `release` returns.
  if (entry.fd !== undefined) fs.closeSync(entry.fd);
  entry.fd = undefined;
}

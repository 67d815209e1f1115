/**
 * Buffers by key, at most `maxBytes` of them, the least recently used dropped first (a Map
 * keeps insertion order: a hit moves its key to the end). Concurrent misses of one key share
 * one load. A load that began before a `drop` is returned to its callers but not kept, so
 * nothing dropped comes back through a read that was already under way.
 */
export class BlockCache {
  readonly #blocks = new Map<string, Buffer>();
  readonly #loading = new Map<string, Promise<Buffer>>();
  #bytes = 0;
  #generation = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Changes with every `drop`: what was learnt before one may be out of date. */
  get generation(): number {
    return this.#generation;
  }

  get(key: string, load: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.peek(key);
    if (hit) return Promise.resolve(hit);
    const loading = this.#loading.get(key);
    if (loading) return loading;
    const generation = this.#generation;
    const loaded = load().then(
      (block) => {
        if (this.#loading.get(key) === loaded) this.#loading.delete(key);
        if (generation === this.#generation) this.#keep(key, block);
        return block;
      },
      (error: unknown) => {
        if (this.#loading.get(key) === loaded) this.#loading.delete(key);
        throw error;
      },
    );
    this.#loading.set(key, loaded);
    return loaded;
  }

  /** The block kept under `key` (now the most recently used), or `undefined`: no load, no wait. */
  peek(key: string): Buffer | undefined {
    const hit = this.#blocks.get(key);
    if (hit) {
      this.#blocks.delete(key);
      this.#blocks.set(key, hit);
    }
    return hit;
  }

  /** Forgets every block whose key starts with `prefix`, and every load of one under way. */
  drop(prefix: string): void {
    this.#generation++;
    for (const [key, block] of this.#blocks) {
      if (!key.startsWith(prefix)) continue;
      this.#blocks.delete(key);
      this.#bytes -= block.length;
    }
    for (const key of this.#loading.keys()) if (key.startsWith(prefix)) this.#loading.delete(key);
  }

  #keep(key: string, block: Buffer): void {
    if (block.length > this.maxBytes || this.#blocks.has(key)) return;
    this.#blocks.set(key, block);
    this.#bytes += block.length;
    for (const [oldest, evicted] of this.#blocks) {
      if (this.#bytes <= this.maxBytes) break;
      this.#blocks.delete(oldest);
      this.#bytes -= evicted.length;
    }
  }
}

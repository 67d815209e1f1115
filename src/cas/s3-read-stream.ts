import { finished, Readable } from 'node:stream';
import type { ByteRange } from './blob-store.js';
import type { GetResult } from './s3-bucket.js';

export interface Segments {
  first: number;
  max: number;
}

export type FetchRange = (range: ByteRange, signal: AbortSignal) => Promise<GetResult>;

/** Each GET of a stream asks for this many times the bytes of the one before, up to `max`. */
const GROWTH = 4;

interface Segment {
  range: ByteRange;
  got: Promise<GetResult>;
}

/**
 * Streams bytes `start`..`end` (inclusive) of one object as a series of ranged GETs of at most
 * `segments.max` bytes, in chunks of at most `chunkSize`. Segments start at `segments.first`
 * bytes and grow fourfold: a reader that wants a few bytes costs a small GET, a long one few
 * GETs. The next segment is asked for as soon as the current one's body starts, so the store's
 * wait before its first byte (tens of ms for a large range on RGW) overlaps this body's bytes
 * instead of adding to them; an unread response holds no more than its socket's buffers.
 * A GET's body is read only as fast as this stream is: when a push is refused, the body is
 * paused until `_read` (back-pressure reaches the store through TCP). Bodies flow chunk by
 * chunk as the socket gives them: reading one with `read()` (as `for await` does) joins what
 * it buffered into a new buffer, a copy of every byte and more garbage for the GC to sweep.
 * Destroying the stream aborts the GETs in progress and releases their connections.
 *
 * The first segment is asked for before the stream exists (`S3ReadStream.open`), so an absent
 * object is known up front. An object that ends before `end` ends the stream early; the caller
 * compares lengths, as with the file-system store.
 */
export class S3ReadStream extends Readable {
  readonly #abort = new AbortController();
  /** Bytes pushed so far end before this position. */
  #position: number;
  /** Where the next segment to ask for starts. */
  #requested: number;
  #segment: number;
  #body: Readable | undefined;
  #prefetched: Segment | undefined;

  private constructor(
    private readonly fetch: FetchRange,
    start: number,
    private readonly end: number,
    private readonly chunkSize: number,
    private readonly segments: Segments,
  ) {
    super({ highWaterMark: chunkSize });
    this.#position = start;
    this.#requested = start;
    this.#segment = segments.first;
  }

  /**
   * The stream, or `absent` when there is no such object. `answered`: the answer to a GET of
   * exactly the first segment, made already (by a reader that guessed where reading starts).
   */
  static async open(fetch: FetchRange, range: ByteRange, chunkSize: number, segments: Segments, answered?: GetResult): Promise<S3ReadStream | 'absent'> {
    const stream = new S3ReadStream(fetch, range.start, range.end, chunkSize, segments);
    const first = stream.#request(answered);
    if (first === undefined) {
      stream.push(null);
      return stream;
    }
    const got = await first.got;
    if (got.kind === 'absent') return 'absent';
    void stream.#run(first.range, got).then(
      () => stream.destroyed || stream.push(null),
      (error: Error) => stream.destroy(error),
    );
    return stream;
  }

  override _read(): void {
    this.#body?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Only with a GET still open: a stream read to its end has none, and an abort costs a
    // DOMException with its stack (a few % of a small range's answer).
    if (this.#body !== undefined || this.#prefetched !== undefined) this.#abort.abort();
    this.#body?.destroy();
    void this.#prefetched?.got.then((got) => got.kind === 'body' && got.body.destroy(), () => undefined);
    this.#prefetched = undefined;
    callback(error);
  }

  /** Asks for the next segment (unless `answered` already), unless the last one is asked for already. */
  #request(answered?: GetResult): Segment | undefined {
    if (this.#requested > this.end || this.destroyed) return undefined;
    const range = { start: this.#requested, end: Math.min(this.end, this.#requested + this.#segment - 1) };
    this.#requested = range.end + 1;
    this.#segment = Math.min(this.#segment * GROWTH, this.segments.max);
    const got = answered ? Promise.resolve(answered) : this.fetch(range, this.#abort.signal);
    got.catch(() => undefined); // awaited later, or dropped with the stream
    return { range, got };
  }

  /** Pushes segment after segment, starting with `got`; stops early when the object does. */
  async #run(range: ByteRange, got: GetResult): Promise<void> {
    for (;;) {
      if (got.kind !== 'body') return;
      if (this.destroyed) return void got.body.destroy();
      const next = (this.#prefetched = this.#request());
      this.#body = got.body;
      await this.#pump(got.body);
      this.#body = undefined;
      if (this.destroyed) return;
      // A short segment: the object ends before `end` (the prefetched GET goes with the stream).
      if (next === undefined || this.#position <= range.end) return;
      range = next.range;
      got = await next.got;
      this.#prefetched = undefined;
    }
  }

  /** Pushes one GET's body as it arrives, pausing it while this stream's buffer is full. */
  #pump(body: Readable): Promise<void> {
    return new Promise((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        let more = true;
        for (let offset = 0; offset < chunk.length; offset += this.chunkSize) {
          // A chunk that fits goes as it is: a new view per chunk is an object per 64 KiB.
          const piece = chunk.length <= this.chunkSize ? chunk : chunk.subarray(offset, offset + this.chunkSize);
          this.#position += piece.length;
          more = this.push(piece);
        }
        if (!more) body.pause();
      });
      // A body cut short rejects (premature close); one this stream destroyed ends the pump.
      finished(body, (error) => (error && !this.destroyed ? reject(error) : resolve()));
    });
  }
}

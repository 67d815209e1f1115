import { Readable } from 'node:stream';
import type { ByteRange } from './blob-store.js';
import type { GetResult } from './s3-bucket.js';

export interface Segments {
  first: number;
  max: number;
}

export type FetchRange = (range: ByteRange, signal: AbortSignal) => Promise<GetResult>;

/**
 * Streams bytes `start`..`end` (inclusive) of one object as a series of ranged GETs of at most
 * `segments.max` bytes, in chunks of at most `chunkSize`. Segments start at `segments.first` bytes
and double: a reader that wants a few bytes costs a small GET, a long one few GETs. A GET's body is read only as fast as
 * this stream is: when a push is refused, reading waits for `_read` (back-pressure reaches the
 * store through TCP). Destroying the stream aborts the GET in progress and releases its
 * connection.
 *
 * The first segment is asked for before the stream exists (`S3ReadStream.open`), so an absent
 * object is known up front. An object that ends before `end` ends the stream early; the caller
 * compares lengths, as with the file-system store.
 */
export class S3ReadStream extends Readable {
  readonly #abort = new AbortController();
  #position: number;
  #segment: number;
  #body: Readable | undefined;
  #wanted: (() => void) | undefined;

  private constructor(
    private readonly fetch: FetchRange,
    start: number,
    private readonly end: number,
    private readonly chunkSize: number,
    private readonly segments: Segments,
  ) {
    super({ highWaterMark: chunkSize });
    this.#position = start;
    this.#segment = segments.first;
  }

  /** The stream, or `absent` when there is no such object. */
  static async open(fetch: FetchRange, range: ByteRange, chunkSize: number, segments: Segments): Promise<S3ReadStream | 'absent'> {
    const stream = new S3ReadStream(fetch, range.start, range.end, chunkSize, segments);
    if (range.end < range.start) {
      stream.push(null);
      return stream;
    }
    const first = await fetch(stream.#nextSegment(), stream.#abort.signal);
    if (first.kind === 'absent') return 'absent';
    void stream.#run(first.kind === 'body' ? first.body : undefined).then(
      () => stream.destroyed || stream.push(null),
      (error: Error) => stream.destroy(error),
    );
    return stream;
  }

  override _read(): void {
    const wanted = this.#wanted;
    this.#wanted = undefined;
    wanted?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort();
    this.#body?.destroy();
    this._read();
    callback(error);
  }

  #nextSegment(): ByteRange {
    return { start: this.#position, end: Math.min(this.end, this.#position + this.#segment - 1) };
  }

  /** Pushes segment after segment, starting with `body`; stops early when the object does. */
  async #run(body: Readable | undefined): Promise<void> {
    while (body !== undefined && !this.destroyed) {
      const segment = this.#nextSegment();
      this.#body = body;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length; offset += this.chunkSize) {
          const piece = chunk.subarray(offset, offset + this.chunkSize);
          this.#position += piece.length;
          if (!this.push(piece)) await new Promise<void>((resolve) => (this.#wanted = resolve));
          if (this.destroyed) return;
        }
      }
      this.#body = undefined;
      if (this.#position <= segment.end || this.#position > this.end) return; // short segment (the object ends) or done
      this.#segment = Math.min(this.#segment * 2, this.segments.max);
      const next = await this.fetch(this.#nextSegment(), this.#abort.signal);
      body = next.kind === 'body' ? next.body : undefined;
    }
  }
}

import { RegistryError } from '../errors.js';
import type { BlobReader } from './blob-store.js';
import type { Digest } from '../digest.js';
import type { GetResult } from './s3-bucket.js';
import { S3ReadStream, type FetchRange } from './s3-read-stream.js';

/** The smallest GET a reader makes: a range of a few bytes still costs one round trip. */
const FIRST_SEGMENT = 256 << 10;
/** Bytes a reader's stream holds ahead of its reads, at least. */
const MIN_STREAM_BUFFER = 64 << 10;
/** The GET that opens a reader: the start of the object, where most downloads begin. */
const OPENING = 1 << 20;

/**
 * Reads of one object at any position into the caller's buffers. A download reads a range
 * chunk after chunk, each read starting where the last ended: those are served from one open
 * S3ReadStream (a few GETs for the whole range, not one per chunk). A read anywhere else
 * closes it and opens another at the new position. Reads run one at a time, in call order.
 *
 * A reader is opened with a GET of the object's first MiB instead of a HEAD: its answer says
 * whether the object exists and its size, as a HEAD's would, and a download of the whole
 * object (the most common read) then starts with bytes already on their way.
 */
export class S3BlobReader implements BlobReader {
  #cursor: Cursor | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    private readonly fetch: FetchRange,
    private readonly digest: Digest,
    private readonly size: number,
    private readonly maxSegment: number,
    /** The answer to the opening GET, until a read from position 0 takes it (or another read drops it). */
    private opening: GetResult | undefined,
  ) {}

  /** A reader of the object `fetch` reads: BLOB_UNKNOWN when there is none. */
  static async open(fetch: FetchRange, digest: Digest, maxSegment: number): Promise<S3BlobReader> {
    const opening = await fetch({ start: 0, end: OPENING - 1 }, new AbortController().signal);
    if (opening.kind === 'absent') throw new RegistryError('BLOB_UNKNOWN', `no blob ${digest} in the store`, { digest });
    // S3 answers a range of an empty object 416: it exists, with no bytes.
    if (opening.kind === 'past-end') return new S3BlobReader(fetch, digest, 0, maxSegment, undefined);
    if (opening.objectSize === undefined) {
      opening.body.destroy();
      throw new RegistryError('UNAVAILABLE', `the object store gave no size for blob ${digest}`, { digest });
    }
    return new S3BlobReader(fetch, digest, opening.objectSize, maxSegment, opening);
  }

  read(buffer: Buffer, position: number, length = buffer.length): Promise<number> {
    if (this.#closed) return Promise.reject(new Error(`reader of ${this.digest} is closed`));
    const read = this.#queue.then(() => this.#read(buffer, position, Math.min(length, buffer.length, this.size - position)));
    this.#queue = read.catch(() => undefined);
    return read;
  }

  close(): void {
    this.#closed = true;
    this.#dropOpening();
    this.#cursor?.stream.destroy();
    this.#cursor = undefined;
  }

  async #read(buffer: Buffer, position: number, length: number): Promise<number> {
    if (length <= 0 || this.#closed) return 0;
    if (this.#cursor?.position !== position) await this.#seek(position, length);
    const cursor = this.#cursor!;
    let filled = 0;
    while (filled < length) {
      const chunk = cursor.leftover ?? (await cursor.chunks.next()).value;
      if (chunk === undefined) break; // the object ends early; the caller sees a short read
      const copied = chunk.copy(buffer, filled, 0, Math.min(chunk.length, length - filled));
      cursor.leftover = copied < chunk.length ? chunk.subarray(copied) : undefined;
      cursor.position += copied;
      filled += copied;
    }
    return filled;
  }

  async #seek(position: number, length: number): Promise<void> {
    this.#cursor?.stream.destroy();
    this.#cursor = undefined;
    const range = { start: position, end: this.size - 1 };
    const buffered = Math.max(length, MIN_STREAM_BUFFER);
    const opening = position === 0 ? this.opening : undefined;
    if (opening === undefined) this.#dropOpening();
    this.opening = undefined;
    const first = opening ? OPENING : Math.min(Math.max(length, FIRST_SEGMENT), this.maxSegment);
    const stream = await S3ReadStream.open(this.fetch, range, buffered, { first, max: this.maxSegment }, opening);
    if (stream === 'absent') throw new RegistryError('BLOB_UNKNOWN', `no blob ${this.digest} in the store`, { digest: this.digest });
    this.#cursor = { stream, chunks: stream[Symbol.asyncIterator](), position, leftover: undefined };
  }

  #dropOpening(): void {
    if (this.opening?.kind === 'body') this.opening.body.destroy();
    this.opening = undefined;
  }
}

interface Cursor {
  stream: S3ReadStream;
  chunks: AsyncIterator<Buffer>;
  position: number;
  leftover: Buffer | undefined;
}

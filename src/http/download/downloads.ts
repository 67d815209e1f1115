import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../cas/blob-store.js';
import type { Digest } from '../../digest.js';
import { RegistryError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import { planDownload, type DownloadRequest } from './plan.js';
import { BufferPool } from './buffer-pool.js';
import type { ByteRange } from './range.js';
import { answerHeaders, type HeaderList } from '../header-list.js';
import { sendBuffer, sendBytes } from './send-bytes.js';
import { blobRepresentation, versionRepresentation, type Representation } from './representation.js';

/** Ranges up to this size are read into one buffer: cheaper than a stream for small reads. */
const SMALL_READ = 256 * 1024;
/** Read-ahead shared by all bodies in flight: chunks shrink as downloads multiply. */
const READ_AHEAD_BUDGET = 16 * 1024 * 1024;
const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
/** Representations kept (by key and by request path); a miss costs one index lookup. */
const CACHE_LIMIT = 10_000;

/**
 * The one download path behind every firmware and blob URL: finds what is asked for,
 * decides the answer (`planDownload`), and sends the bytes from the blob store with
 * back-pressure. Headers are computed once per published thing and cached until the
 * registry changes.
 */
export class Downloads {
  readonly #cache = new Map<string, Representation>();
  readonly #buffers = new BufferPool();
  #generation = -1;
  #bodiesInFlight = 0;

  constructor(
    private readonly registry: Registry,
    private readonly store: BlobStore,
  ) {}

  /** Bodies being sent right now. */
  get bodiesInFlight(): number {
    return this.#bodiesInFlight;
  }

  /**
   * A published version, or `undefined`. Remembered also under the raw request `path`, when
   * given, so that the next request for it is answered by the fast path (`atPath`).
   */
  version(name: string, version: string, path?: string): Promise<Representation | undefined> {
    return this.#cached([`v ${name} ${version}`, path], async () => {
      const record = await this.registry.find(name, version);
      return record && versionRepresentation(record);
    });
  }

  /**
   * What a raw request path named when it was last asked for, if nothing changed since:
   * synchronous, so a repeated request skips decoding its path and the index.
   */
  atPath(path: string): Representation | undefined {
    this.#checkGeneration();
    return this.#cache.get(`p ${path}`);
  }

  /** Bytes by digest that some version publishes, or `undefined`; remembered as `version`. */
  publishedBlob(digest: Digest, path?: string): Promise<Representation | undefined> {
    return this.#cached([`b ${digest}`, path], async () => {
      const blob = await this.registry.describePublishedBlob(digest);
      return blob && blobRepresentation(blob);
    });
  }

  /** Bytes by digest, published or only stored (never cached: those may be collected). */
  async blob(digest: Digest, path?: string): Promise<Representation | undefined> {
    const published = await this.publishedBlob(digest, path);
    if (published) return published;
    const stored = await this.registry.describeBlob(digest);
    return stored && blobRepresentation(stored);
  }

  /**
   * Answers a GET or HEAD for `representation` on `res`. Throws, before anything is sent,
   * PRECONDITION_FAILED (412) or RANGE_NOT_SATISFIABLE (416, with `contentRange`), and rejects
   * with BLOB_UNKNOWN. An answer that needs no read (a 304, a HEAD, a small range of bytes the
   * store holds in memory) goes out at once and its status is returned; every other resolves
   * with the status once the answer is sent or the client is gone. (A cached 4 KiB range
   * answered at once, without a promise and a read, costs about 15% less CPU.)
   * `extra` fields (this request's own) go out first, with the answer's, in the one writeHead:
   * a header set with setHeader before it makes node:http merge every field one by one (about
   * 15% of a 304), and every field goes as a list made once per representation (header-list.ts).
   */
  send(method: 'GET' | 'HEAD', headers: IncomingHttpHeaders, res: ServerResponse, representation: Representation, extra?: HeaderList): number | Promise<number> {
    const plan = planDownload(requestOf(method, headers), representation);
    switch (plan.status) {
      case 412:
        throw new RegistryError('PRECONDITION_FAILED', 'a precondition (If-Match or If-Unmodified-Since) does not hold for the current firmware', {
          etag: representation.validators.etag.opaque,
        });
      case 416:
        throw new RegistryError('RANGE_NOT_SATISFIABLE', `no requested range overlaps the ${representation.size} bytes of the firmware`, {
          size: representation.size,
          contentRange: plan.headers['Content-Range'] as string,
        });
      case 304:
        res.writeHead(304, answerHeaders(extra, plan.headers)).end();
        return 304;
      case 200: {
        const fields = answerHeaders(extra, plan.headers);
        if (!plan.body) {
          res.writeHead(200, fields).end();
          return 200;
        }
        return this.#sendRanges(res, 200, fields, representation.digest, [{ start: 0, end: representation.size - 1 }]);
      }
      case 206: {
        if ('range' in plan) {
          const { range } = plan;
          // The representation's partial fields, then this range's own (as planDownload made them).
          const fields = answerHeaders(extra, representation.partial, ['Content-Range', plan.headers['Content-Range']!, 'Content-Length', plan.headers['Content-Length']!]);
          if (range.end - range.start + 1 > SMALL_READ) return this.#sendRanges(res, 206, fields, representation.digest, [range]);
          // Small: one read into one buffer (none when the store holds the bytes), one write.
          const held = this.store.readHeld?.(representation.digest, range);
          if (held === undefined) return this.#sendRead(res, fields, representation.digest, range);
          res.writeHead(206, fields).end(held);
          return 206;
        }
        const fields = (extra ?? []).concat(Object.entries(plan.headers).flat());
        return this.#sendRanges(res, 206, fields, representation.digest, plan.multipart.parts, plan.multipart.tail);
      }
    }
  }

  async #sendRead(res: ServerResponse, fields: HeaderList, digest: Digest, range: ByteRange): Promise<number> {
    const bytes = await this.store.read(digest, range);
    res.writeHead(206, fields).end(bytes);
    return 206;
  }

  /**
   * Sends a body made of ranges of one blob: the whole blob, one large range, or the parts of
   * a multipart/byteranges body (each with its head, then the tail). The blob is opened
   * before the status goes out, so a missing blob is still a clean 404. Once the status is
   * out, any failure cuts the connection: a client must never take a short body for a whole.
   */
  async #sendRanges(
    res: ServerResponse,
    status: 200 | 206,
    fields: HeaderList,
    digest: Digest,
    parts: ({ head: Buffer; range: ByteRange } | ByteRange)[],
    tail?: Buffer,
  ): Promise<number> {
    const only = parts.length === 1 && tail === undefined ? parts[0] : undefined;
    if (this.store.largeReads === 'stream' && only !== undefined && !('head' in only)) return this.#pipeRange(res, status, fields, digest, only);
    const reader = await this.store.reader(digest);
    res.writeHead(status, fields);
    this.#bodiesInFlight++;
    try {
      const chunkSize = this.#chunkSize();
      for (const part of parts) {
        const range = 'head' in part ? part.range : part;
        if ('head' in part && !(await sendBuffer(res, part.head))) return status;
        if (!(await sendBytes(res, reader, range, this.#buffers, chunkSize))) return status;
      }
      if (tail) res.end(tail);
      else res.end();
    } catch (error) {
      res.destroy(error as Error);
    } finally {
      this.#bodiesInFlight--;
      reader.close();
    }
    return status;
  }

  /**
   * Sends one range of a blob as a stream from the store, piped with back-pressure (stores
   * whose `largeReads` are streams). The stream is opened before the status goes out; a
   * client that goes away destroys it (releasing the store's connection), and a blob that
   * ends early cuts the connection, as with positional reads.
   */
  async #pipeRange(res: ServerResponse, status: 200 | 206, fields: HeaderList, digest: Digest, range: ByteRange): Promise<number> {
    const stream = await this.store.open(digest, range, { chunkSize: this.#chunkSize() });
    res.writeHead(status, fields);
    this.#bodiesInFlight++;
    let sent = 0;
    try {
      const piped = pipeline(stream, res);
      // Counted beside the pipe, attached in the same tick (no chunk flows before both are on).
      stream.on('data', (chunk: Buffer) => (sent += chunk.length));
      await piped;
      if (sent !== range.end - range.start + 1) res.destroy(new RegistryError('BLOB_TRUNCATED', 'the stored blob is shorter than its recorded size; run fsck'));
    } catch (error) {
      res.destroy(error as Error);
    } finally {
      this.#bodiesInFlight--;
    }
    return status;
  }

  /**
   * Chunks shrink as downloads multiply, so that the buffers in flight (two per download)
   * stay within READ_AHEAD_BUDGET: 1 MiB for a few downloads, 64 KiB for hundreds. Powers of
   * two, so the pool has few sizes to keep.
   */
  #chunkSize(): number {
    const share = READ_AHEAD_BUDGET / (2 * (this.#bodiesInFlight + 1));
    let size = MIN_CHUNK;
    while (size * 2 <= Math.min(share, MAX_CHUNK)) size *= 2;
    return size;
  }

  async #cached([key, path]: [string, string | undefined], load: () => Promise<Representation | undefined>): Promise<Representation | undefined> {
    this.#checkGeneration();
    const hit = this.#cache.get(key);
    if (hit) {
      if (path !== undefined) this.#remember(`p ${path}`, hit);
      return hit;
    }
    const generation = this.#generation;
    const loaded = await load();
    // A change that became visible while the index was asked may have made this answer old:
    // answer with it (it was true when asked), but do not keep it.
    this.#checkGeneration();
    if (loaded && generation === this.#generation) {
      this.#remember(key, loaded);
      if (path !== undefined) this.#remember(`p ${path}`, loaded);
    }
    return loaded;
  }

  #remember(key: string, representation: Representation): void {
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, representation);
  }

  #checkGeneration(): void {
    if (this.#generation !== this.registry.changes) {
      this.#cache.clear();
      this.#generation = this.registry.changes;
    }
  }
}

function requestOf(method: 'GET' | 'HEAD', headers: IncomingHttpHeaders): DownloadRequest {
  // Node joins repeated fields into one comma-separated value (only Set-Cookie stays a list).
  const field = (name: string) => headers[name] as string | undefined;
  return {
    method,
    range: field('range'),
    ifRange: field('if-range'),
    ifMatch: field('if-match'),
    ifNoneMatch: field('if-none-match'),
    ifModifiedSince: field('if-modified-since'),
    ifUnmodifiedSince: field('if-unmodified-since'),
  };
}

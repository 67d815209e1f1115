import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../../cas/blob-store.js';
import type { Digest } from '../../cas/digest.js';
import { RegistryError } from '../../errors.js';
import type { Registry } from '../../registry.js';
import { planDownload, type DownloadPlan, type DownloadRequest } from './plan.js';
import type { ByteRange } from './range.js';
import { blobRepresentation, versionRepresentation, type Representation } from './representation.js';

/** Ranges up to this size are read into one buffer: cheaper than a stream for small reads. */
const SMALL_READ = 256 * 1024;
/** Read-ahead shared by all bodies in flight: chunks shrink as downloads multiply. */
const READ_AHEAD_BUDGET = 16 * 1024 * 1024;
const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
/** Representations kept; a miss costs one index lookup. */
const CACHE_LIMIT = 10_000;

/**
 * The one download path behind every firmware and blob URL: finds what is asked for,
 * decides the answer (`planDownload`), and sends the bytes from the blob store with
 * back-pressure. Headers are computed once per published thing and cached until the
 * registry changes.
 */
export class Downloads {
  readonly #cache = new Map<string, Representation>();
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

  /** A published version, or `undefined`. Synchronous: it never touches the disk. */
  version(name: string, version: string): Representation | undefined {
    return this.#cached(`v ${name} ${version}`, () => {
      const record = this.registry.find(name, version);
      return record && versionRepresentation(record);
    });
  }

  /**
   * What a raw request path names, remembered per path, so a repeated request skips decoding
   * and validating its path as well as the index. `resolve` runs on a miss.
   */
  forPath(path: string, resolve: () => Representation | undefined): Representation | undefined {
    return this.#cached(`p ${path}`, resolve);
  }

  /** Bytes by digest that some version publishes, or `undefined`. Synchronous, like `version`. */
  publishedBlob(digest: Digest): Representation | undefined {
    return this.#cached(`b ${digest}`, () => {
      const blob = this.registry.describePublishedBlob(digest);
      return blob && blobRepresentation(blob);
    });
  }

  /** Bytes by digest, published or only stored (never cached: those may be collected). */
  async blob(digest: Digest): Promise<Representation | undefined> {
    const published = this.publishedBlob(digest);
    if (published) return published;
    const stored = await this.registry.describeBlob(digest);
    return stored && blobRepresentation(stored);
  }

  /**
   * Answers a GET or HEAD for `representation` on `res`. Throws, before anything is sent,
   * PRECONDITION_FAILED (412), RANGE_NOT_SATISFIABLE (416, with `contentRange`) or
   * BLOB_UNKNOWN; resolves with the status once the answer is on its way.
   */
  async send(method: 'GET' | 'HEAD', headers: IncomingHttpHeaders, res: ServerResponse, representation: Representation): Promise<number> {
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
        res.writeHead(304, plan.headers).end();
        return 304;
      case 200:
        if (!plan.body) {
          res.writeHead(200, plan.headers).end();
          return 200;
        }
        return this.#stream(res, plan, await this.#open(representation.digest, { start: 0, end: representation.size - 1 }), representation.size);
      case 206:
        if ('range' in plan) return this.#sendRange(res, plan, representation.digest, plan.range);
        return this.#sendMultipart(res, plan, representation.digest);
    }
  }

  async #sendRange(res: ServerResponse, plan: DownloadPlan & { status: 206 }, digest: Digest, range: ByteRange): Promise<number> {
    const length = range.end - range.start + 1;
    if (length <= SMALL_READ) {
      const bytes = await this.store.read(digest, range);
      res.writeHead(206, plan.headers).end(bytes);
      return 206;
    }
    return this.#stream(res, plan, await this.#open(digest, range), length);
  }

  async #sendMultipart(res: ServerResponse, plan: DownloadPlan & { status: 206 }, digest: Digest): Promise<number> {
    if (!('multipart' in plan)) throw new Error('not a multipart plan');
    const { parts, tail } = plan.multipart;
    // The first part is fetched before the status goes out, so a missing blob is still a clean 404.
    const first = await this.#part(digest, (parts[0] as (typeof parts)[0]).range);
    res.writeHead(206, plan.headers);
    this.#bodiesInFlight++;
    let open: Readable | undefined;
    res.once('close', () => {
      this.#bodiesInFlight--;
      open?.destroy();
    });
    try {
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] as (typeof parts)[0];
        if (!(await write(res, part.head))) return 206;
        const source = i === 0 ? first : await this.#part(digest, part.range);
        if (Buffer.isBuffer(source)) {
          if (!(await write(res, source))) return 206;
          continue;
        }
        open = source;
        for await (const chunk of source) {
          if (!(await write(res, chunk as Buffer))) return 206;
        }
        open = undefined;
      }
      res.end(tail);
    } catch (error) {
      res.destroy(error as Error);
    }
    return 206;
  }

  #part(digest: Digest, range: ByteRange): Promise<Buffer | Readable> {
    return range.end - range.start + 1 <= SMALL_READ ? this.store.read(digest, range) : this.#open(digest, range);
  }

  /** The size comes from the index, so the whole body is a range too: no stat per request. */
  #open(digest: Digest, range: ByteRange): Promise<Readable> {
    return this.store.open(digest, range, { chunkSize: this.#chunkSize() });
  }

  /**
   * Pipes a body with back-pressure. A source that ends short of `length` (a truncated
   * blob) cuts the connection: a client must never take a short body for a whole one.
   */
  #stream(res: ServerResponse, plan: { status: number; headers: Record<string, string> }, source: Readable, length: number): number {
    res.writeHead(plan.status, plan.headers);
    this.#bodiesInFlight++;
    let sent = 0;
    source.on('data', (chunk: Buffer) => (sent += chunk.length));
    source.once('end', () => (sent === length ? res.end() : res.destroy(new Error(`blob ended after ${sent} of ${length} bytes`))));
    source.once('error', (error) => res.destroy(error));
    // A client that goes away (or is timed out) releases the file at once.
    res.once('close', () => {
      this.#bodiesInFlight--;
      source.destroy();
    });
    source.pipe(res, { end: false });
    return plan.status;
  }

  #chunkSize(): number {
    return Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.floor(READ_AHEAD_BUDGET / (this.#bodiesInFlight + 1))));
  }

  #cached(key: string, load: () => Representation | undefined): Representation | undefined {
    if (this.#generation !== this.registry.changes) {
      this.#cache.clear();
      this.#generation = this.registry.changes;
    }
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const loaded = load();
    if (loaded) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(key, loaded);
    }
    return loaded;
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

/** Writes a chunk; resolves `false` when the client is gone, after a drain when it is slow. */
function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

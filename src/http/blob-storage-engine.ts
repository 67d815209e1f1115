import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { File, StorageEngine } from 'multer';
import type { BlobStore, StagedBlob } from '../cas/blob-store.js';
import { TooLargeError } from '../errors.js';
import { parseMetadata } from '../firmware/metadata.js';
import { reportTooLarge } from './upload-cut-off.js';

/** What the engine adds to multer's file object. */
export interface StagedFile extends File {
  staged: StagedBlob;
}

/**
 * A multer storage engine that streams the file part straight into the blob store's temp
 * area while hashing it: the upload is never held in memory and never written twice.
 * Multer calls `_removeFile` for every staged file when the request fails, so a rejected
 * upload leaves nothing behind.
 */
export class BlobStorageEngine implements StorageEngine {
  /** The file parts being staged, per request, so that a request given up on can stop them. */
  readonly #staging = new WeakMap<IncomingMessage, Set<Readable>>();

  constructor(
    private readonly store: BlobStore,
    private readonly maxBytes: number,
  ) {}

  _handleFile(req: IncomingMessage, file: File, callback: (error: Error | null, info?: object) => void): void {
    let expect;
    try {
      expect = { maxBytes: this.maxBytes, ...declaredBefore(req) };
    } catch (error) {
      // Metadata came first and is already wrong: refuse before storing a byte.
      file.stream.resume();
      callback(error as Error);
      return;
    }
    const streams = this.#staging.get(req) ?? new Set<Readable>();
    this.#staging.set(req, streams.add(file.stream));
    this.store.stage(file.stream, expect).then(
      (staged) => {
        streams.delete(file.stream);
        callback(null, { staged, size: staged.size });
      },
      (error: Error) => {
        streams.delete(file.stream);
        if (error instanceof TooLargeError) reportTooLarge(req, error);
        callback(error);
      },
    );
  }

  /**
   * Stops staging what `req` is sending, with `error`: the request was refused while its body
   * was still arriving (too slow, too large). Its temp file goes as for any failed stage; and
   * once the refusal is answered, the rest of the body is only ever discarded, never written.
   * Node does not end the request for the parser when the connection closes after an answer.
   */
  abandon(req: IncomingMessage, error: Error): void {
    for (const stream of this.#staging.get(req) ?? []) stream.destroy(error);
  }

  _removeFile(_req: IncomingMessage, file: File, callback: (error: Error | null) => void): void {
    const { staged } = file as Partial<StagedFile>;
    if (!staged) return callback(null);
    staged.discard().then(() => callback(null), callback);
  }
}

/**
 * When the metadata part arrived before the file (as curl and the seed's clients send it),
 * check it now and hand its declared digest and size to the store, which verifies them while
 * it writes. When the file comes first, the registry checks both after the fact.
 */
function declaredBefore(req: IncomingMessage): { digest?: StagedBlob['digest']; size?: number } {
  const fields = (req as IncomingMessage & { body?: Record<string, unknown> }).body;
  const text = fields?.metadata;
  if (typeof text !== 'string') return {};
  const { digest, size } = parseMetadata(text);
  return { ...(digest ? { digest } : {}), ...(size !== undefined ? { size } : {}) };
}

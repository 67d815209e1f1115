import koaMulter from '@koa/multer';
import type { Context, Middleware, Next } from 'koa';
import multer from 'multer';
import type { BlobStore, StagedBlob } from '../cas/blob-store.js';
import { isRegistryError, RegistryError, TooLargeError } from '../errors.js';
import { parseMetadata, type Metadata } from '../firmware/metadata.js';
import { BlobStorageEngine, type StagedFile } from './blob-storage-engine.js';
import { whenTooLarge } from './upload-cut-off.js';
import { whenTooSlow, type MinimumRate } from './upload-rate.js';

export interface Upload {
  metadata: Metadata;
  /** Absent when the publisher names a digest and sends no bytes. */
  staged: StagedBlob | undefined;
}

export const METADATA_LIMIT = 64 * 1024;
/** Room for the metadata part and the multipart framing on top of the firmware itself. */
const FRAMING_ALLOWANCE = METADATA_LIMIT + 16 * 1024;

/**
 * Reads a `POST /firmware` body (SPEC §3): multipart/form-data with a `metadata` text part and
 * a `firmware` file part, in either order, once `refuseUnreceivable` has passed its headers.
 * The file streams into the blob store as it arrives. Leaves `ctx.state.upload`; whatever
 * fails, no staged bytes outlive the request.
 */
export function receiveUpload(store: BlobStore, maxUploadBytes: number, minimumRate: MinimumRate): Middleware {
  const storage = new BlobStorageEngine(store, maxUploadBytes);
  const parse = koaMulter({
    storage,
    // Larger than busboy's defaults (16 KiB-64 KiB): parsing, hashing and writing overlap
    // better; 256 MiB uploads went from 0.86 s to 0.68 s here. Some 3 MiB per upload.
    highWaterMark: 1024 * 1024,
    fileHwm: 2 * 1024 * 1024,
    limits: { fileSize: maxUploadBytes, fieldSize: METADATA_LIMIT, fields: 1, files: 1, parts: 2, headerPairs: 20, fieldNameSize: 64 },
  }).fields([{ name: 'firmware', maxCount: 1 }]);

  return async function receive(ctx: Context, next: Next): Promise<void> {
    const parsed = parse(ctx, async () => {});
    // Whatever happens after a cut-off is cleanup (multer removes what it stored); not an error.
    parsed.catch(() => {});
    try {
      await Promise.race([parsed, whenTooLarge(ctx.req, maxUploadBytes + FRAMING_ALLOWANCE, maxUploadBytes), whenTooSlow(ctx.req, minimumRate)]);
    } catch (error) {
      const refusal = translateParseError(error, maxUploadBytes);
      // A cut-off won the race while the parser still waits for the body: stop it.
      storage.abandon(ctx.req, refusal instanceof Error ? refusal : new Error(String(refusal)));
      throw refusal;
    }
    // The whole body is in. Until the answer, the time is the registry's own (fsync, index
    // write), not the client's idleness: a publish of 32 MiB that took longer to fsync than
    // IDLE_TIMEOUT_SECONDS was cut off with no answer. Node sets the connection's timeout
    // again after the answer (keep-alive) and for its next request.
    ctx.req.socket.setTimeout(0);
    // Where @koa/multer leaves the parsed parts.
    const { body, files } = ctx.request as typeof ctx.request & { body?: unknown; files?: Record<string, StagedFile[]> };
    const staged = files?.firmware?.[0]?.staged;
    try {
      ctx.state.upload = { metadata: readMetadata(body), staged } satisfies Upload;
    } catch (error) {
      await staged?.discard();
      throw error;
    }
    try {
      await next();
    } finally {
      await staged?.discard();
    }
  };
}

/**
 * Refuses, from its headers alone, an upload that could never be received: not multipart
 * (415), or announced as too large (413, RFC 9110 §15.5.14). Runs before the upload takes a
 * slot, so such a request is never told to retry (503), and before the body is asked for
 * (no 100 Continue).
 */
export function refuseUnreceivable(maxUploadBytes: number): Middleware {
  return async function checkUploadHeaders(ctx: Context, next: Next): Promise<void> {
    if (!ctx.is('multipart/form-data')) {
      throw new RegistryError(
        'UNSUPPORTED_MEDIA_TYPE',
        'POST /firmware takes multipart/form-data with a "metadata" part and a "firmware" part',
        { contentType: ctx.get('Content-Type') || '(none)' },
      );
    }
    if (ctx.request.length !== undefined && ctx.request.length > maxUploadBytes + FRAMING_ALLOWANCE) {
      throw new TooLargeError(maxUploadBytes, 'the request body');
    }
    return next();
  };
}

function readMetadata(body: unknown): Metadata {
  const fields = (body ?? {}) as Record<string, unknown>;
  const unexpected = Object.keys(fields).filter((name) => name !== 'metadata');
  if (unexpected.includes('firmware')) {
    throw new RegistryError('MULTIPART_INVALID', 'the firmware part must be a file part, with a filename (curl: -F firmware=@file.bin)');
  }
  if (unexpected.length > 0) {
    throw new RegistryError('MULTIPART_INVALID', `unexpected part "${unexpected[0]}"; the parts are "metadata" and "firmware"`);
  }
  if (typeof fields.metadata !== 'string') {
    throw new RegistryError('METADATA_INVALID', 'the "metadata" part is missing: send it as a text part with JSON such as {"name":"base","version":"1.0.0"}');
  }
  return parseMetadata(fields.metadata);
}

/** Multer and busboy report problems as their own errors; these are what they mean here. */
function translateParseError(error: unknown, maxUploadBytes: number): unknown {
  if (isRegistryError(error)) return error;
  if (error instanceof multer.MulterError) {
    switch (error.code) {
      case 'LIMIT_FILE_SIZE':
        return new TooLargeError(maxUploadBytes);
      case 'LIMIT_FIELD_VALUE':
        return error.field === 'metadata'
          ? new TooLargeError(METADATA_LIMIT, 'the metadata part')
          : new RegistryError('MULTIPART_INVALID', `the "${error.field}" part must be a file part, with a filename`);
      case 'LIMIT_UNEXPECTED_FILE':
        return error.field === 'metadata'
          ? new RegistryError('MULTIPART_INVALID', 'the metadata part must be text, not a file (curl: -F "metadata=<meta.json" instead of @)')
          : error.field === 'firmware'
            ? new RegistryError('MULTIPART_INVALID', 'more than one "firmware" part; send exactly one')
            : new RegistryError('MULTIPART_INVALID', `unexpected file part "${error.field}"; the parts are "metadata" and "firmware"`);
      default:
        return new RegistryError('MULTIPART_INVALID', `the multipart body has too many or malformed parts (${error.code}); send exactly "metadata" and "firmware"`);
    }
  }
  if (error instanceof Error && /^Request (aborted|closed)$/.test(error.message)) {
    return new RegistryError('UPLOAD_ABORTED', 'the client closed the connection before the upload was complete');
  }
  if (error instanceof Error && !('code' in error)) {
    // busboy's own parse errors ("Unexpected end of form", "Malformed part header", ...).
    return new RegistryError('MULTIPART_INVALID', `the multipart body is malformed: ${error.message}`);
  }
  return error;
}

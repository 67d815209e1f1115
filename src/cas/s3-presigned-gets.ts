import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteRange } from './blob-store.js';

/** How long a presigned URL is valid, and how long one is reused (well within its validity). */
const VALID_SECONDS = 15 * 60;
const REUSE_MS = 5 * 60_000;
/** URLs kept at most: one per blob being read, dropped oldest first. */
const MAX_URLS = 4096;

export type PresignedGet =
  | { kind: 'body'; body: IncomingMessage; objectSize: number | undefined }
  | { kind: 'absent' }
  | { kind: 'past-end' }
  | { kind: 'failed'; status: number | undefined; s3Error: string; cause?: unknown };

/**
 * Ranged GETs of objects by presigned URL, on a keep-alive agent. A GET through the SDK costs
 * about a millisecond of CPU in its middleware (endpoint rules, retries, signing, checksums)
 * before a byte moves: for a 4 KiB range that is most of the work, and it was the registry's
 * ceiling. A presigned URL is signed once per object by the SDK itself (same endpoint, path
 * style and credentials as every other request) and reused for a few minutes; the `Range`
 * header is not part of the signature, so one URL serves every range of its object.
 *
 * A 403 may be a URL whose temporary credentials expired early: it is signed afresh and tried
 * once more. A connection the server closed while idle (ECONNRESET on a reused socket), and a
 * 500 or 503 (S3's InternalError and SlowDown), are tried once more too, as the SDK's retry
 * would (without its back-off). Any other failure is the caller's to report.
 */
export class PresignedGets {
  readonly #urls = new Map<string, { url: string; signedAt: number }>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly agents: { http: http.Agent; https: https.Agent },
  ) {}

  async get(key: string, range: ByteRange, signal?: AbortSignal): Promise<PresignedGet> {
    let got = await this.#request(await this.#url(key, false), range, signal);
    if (got.kind === 'failed' && (got.status === 403 || got.status === 500 || got.status === 503 || got.s3Error === 'ECONNRESET')) {
      got = await this.#request(await this.#url(key, got.status === 403), range, signal);
    }
    return got;
  }

  async #url(key: string, fresh: boolean): Promise<string> {
    const known = this.#urls.get(key);
    if (known && !fresh && Date.now() - known.signedAt < REUSE_MS) return known.url;
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: VALID_SECONDS });
    this.#urls.delete(key);
    if (this.#urls.size >= MAX_URLS) this.#urls.delete(this.#urls.keys().next().value as string);
    this.#urls.set(key, { url, signedAt: Date.now() });
    return url;
  }

  #request(url: string, range: ByteRange, signal: AbortSignal | undefined): Promise<PresignedGet> {
    const secure = url.startsWith('https:');
    const request = secure ? https.request : http.request;
    return new Promise((resolve) => {
      const req = request(url, { agent: secure ? this.agents.https : this.agents.http, headers: { Range: `bytes=${range.start}-${range.end}` }, signal });
      req.once('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'failed', status: undefined, s3Error: error.code ?? error.name, cause: error }));
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status === 200 || status === 206) return resolve({ kind: 'body', body: res, objectSize: objectSize(res) });
        // An error's body is a short XML document naming it (NoSuchKey, AccessDenied…).
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', () => resolve({ kind: 'failed', status, s3Error: `HTTP ${status}` }));
        res.once('end', () => {
          if (status === 404) return resolve({ kind: 'absent' });
          if (status === 416) return resolve({ kind: 'past-end' });
          const code = /<Code>([^<]+)<\/Code>/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
          resolve({ kind: 'failed', status, s3Error: code ?? `HTTP ${status}` });
        });
      });
      req.end();
    });
  }
}

/** The whole object's size: Content-Range's total (RFC 9110 §14.4), or a 200's Content-Length. */
function objectSize(res: IncomingMessage): number | undefined {
  const total = /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1] ?? (res.statusCode === 200 ? res.headers['content-length'] : undefined);
  return total === undefined ? undefined : Number(total);
}

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { RegistryError, type ErrorDetails } from '../errors.js';
import type { ByteRange } from './blob-store.js';
import type { PresignedGets } from './s3-presigned-gets.js';

/** A body comes with the size of the whole object (from Content-Range), when the store says it. */
export type GetResult = { kind: 'body'; body: Readable; objectSize: number | undefined } | { kind: 'absent' } | { kind: 'past-end' };

export interface UploadedPart {
  PartNumber: number;
  ETag: string;
}

/**
 * Every request the S3 blob store makes, against one bucket. This is the boundary where the
 * SDK's errors end: an absent key is `undefined` (or `absent`), anything else the store did
 * not expect (refused credentials, an unreachable endpoint, a server error) is UNAVAILABLE
 * with the operation, key and S3's error name. No SDK error leaves this file.
 */
export class S3Bucket {
  constructor(
    private readonly client: S3Client,
    readonly name: string,
    readonly endpoint: string,
    private readonly gets: PresignedGets,
  ) {}

  /** Resolves when the bucket exists and the credentials may use it. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.name }));
    } catch (error) {
      const s3Error = errorName(error);
      const reason = whyUnusable(statusOf(error));
      throw new RegistryError('UNAVAILABLE', `cannot use bucket ${this.name} at ${this.endpoint}: ${reason} (${s3Error})`, { bucket: this.name, endpoint: this.endpoint, reason, s3Error }, { cause: error });
    }
  }

  async head(key: string): Promise<{ size: number; lastModified: Date } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.#failure('HeadObject', key, error);
    }
  }

  /**
   * The bytes of `range` (inclusive); `past-end` when the object is shorter than its start.
   * By presigned URL: the reads a download makes, where the SDK's own cost per request counts.
   */
  async get(key: string, range: ByteRange, signal?: AbortSignal): Promise<GetResult> {
    const got = await this.gets.get(key, range, signal);
    if (got.kind !== 'failed') return got;
    const details: ErrorDetails = { bucket: this.name, key, operation: 'GetObject', s3Error: got.s3Error };
    throw new RegistryError('UNAVAILABLE', `the object store failed GetObject of ${key} (${got.s3Error})`, details, { cause: got.cause });
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.#send('PutObject', key, () => this.client.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentLength: body.length })));
  }

  /** S3 deletes are idempotent: deleting an absent key succeeds. */
  async delete(key: string): Promise<void> {
    await this.#send('DeleteObject', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key })));
  }

  async copy(from: string, to: string): Promise<void> {
    await this.#send('CopyObject', to, () => this.client.send(new CopyObjectCommand({ Bucket: this.name, Key: to, CopySource: this.#copySource(from) })));
  }

  async createUpload(key: string): Promise<string> {
    const created = await this.#send('CreateMultipartUpload', key, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: key })));
    if (!created.UploadId) throw this.#failure('CreateMultipartUpload', key, new Error('no UploadId in the answer'));
    return created.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart> {
    const part = await this.#send('UploadPart', key, () => this.client.send(new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length })));
    return { PartNumber: partNumber, ETag: part.ETag ?? '' };
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, from: string, range: ByteRange): Promise<UploadedPart> {
    const copySource = this.#copySource(from);
    const copyRange = `bytes=${range.start}-${range.end}`;
    const part = await this.#send('UploadPartCopy', key, () =>
      this.client.send(new UploadPartCopyCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: partNumber, CopySource: copySource, CopySourceRange: copyRange })),
    );
    return { PartNumber: partNumber, ETag: part.CopyPartResult?.ETag ?? '' };
  }

  /** Never relies on the answer's ETag: RGW 16 returns an empty one. */
  async completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.#send('CompleteMultipartUpload', key, () => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
  }

  /** Aborting an upload that is already gone succeeds. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (statusOf(error) !== 404) throw this.#failure('AbortMultipartUpload', key, error);
    }
  }

  async *listObjects(prefix: string): AsyncIterable<{ key: string; lastModified: Date }> {
    let token: string | undefined;
    do {
      const page = await this.#send('ListObjectsV2', prefix, () => this.client.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token })));
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, lastModified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *listUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.#send('ListMultipartUploads', prefix, () => this.client.send(new ListMultipartUploadsCommand({ Bucket: this.name, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })));
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId) yield { key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated ?? new Date(0) };
      }
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  #copySource(key: string): string {
    return `${this.name}/${encodeURIComponent(key).replaceAll('%2F', '/')}`;
  }

  async #send<Output>(operation: string, key: string, request: () => Promise<Output>): Promise<Output> {
    try {
      return await request();
    } catch (error) {
      throw this.#failure(operation, key, error);
    }
  }

  #failure(operation: string, key: string, error: unknown): RegistryError {
    const details: ErrorDetails = { bucket: this.name, key, operation, s3Error: errorName(error) };
    return new RegistryError('UNAVAILABLE', `the object store failed ${operation} of ${key} (${details.s3Error})`, details, { cause: error });
  }
}

/** S3's error name (NoSuchBucket, AccessDenied…), or the network's (ECONNREFUSED…). */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code ?? error.name;
}

function whyUnusable(status: number | undefined): string {
  if (status === undefined) return 'the object store does not answer';
  if (status === 404) return 'the bucket does not exist';
  if (status === 401 || status === 403) return 'the credentials are refused';
  return 'the object store refuses the request';
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

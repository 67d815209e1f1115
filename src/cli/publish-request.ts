import { createReadStream } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest.js';
import type { Progress } from './progress.js';
import type { ClientResponse, RegistryClient } from './registry-client.js';

/** The `metadata` part of a publish from a hashed file: the digest and size are always declared. */
export interface PublishMetadata {
  name: string;
  version: string;
  labels: Record<string, string>;
  sha256: Digest;
  size: number;
  /** The original publish time, ISO-8601 (imports). */
  created_at?: string;
}

export interface PublishAnswer {
  answer: ClientResponse;
  /** False when the registry had the bytes and they were published by digest. */
  uploaded: boolean;
}

const NO_PROGRESS: Progress = { update() {}, stop() {} };

/**
 * Publishes a hashed file (`POST /firmware`, multipart):
 *   1. by digest, without the bytes: the registry answers 201 or 200 when it holds them, or
 *      404 BLOB_UNKNOWN when it does not;
 *   2. only then with the bytes, which the registry checks against the declared digest and size.
 * Any other answer of step 1 (a 409, a 401) is the answer: sending the bytes would not change it.
 */
export async function publishFile(client: RegistryClient, metadata: PublishMetadata, file: string, progress: (size: number) => Progress = () => NO_PROGRESS): Promise<PublishAnswer> {
  const boundary = `spore${randomBytes(12).toString('hex')}`;
  const metadataPart = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n`),
    Buffer.from(JSON.stringify(metadata)),
  ]);
  const close = Buffer.from(`\r\n--${boundary}--\r\n`);
  const headers = (length: number) => ({ 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': length });

  const byDigest = await client.send({ method: 'POST', path: '/firmware', headers: headers(metadataPart.length + close.length), body: [metadataPart, close] });
  if (byDigest.status !== 404 || !byDigest.body.includes('BLOB_UNKNOWN')) return { answer: byDigest, uploaded: false };

  const filePart = Buffer.from(
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="${path.basename(file).replace(/["\r\n]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const bar = progress(metadata.size);
  let sent = 0;
  const bytes = createReadStream(file, { highWaterMark: 1024 * 1024 }).on('data', (chunk) => bar.update((sent += chunk.length)));
  try {
    const answer = await client.send({
      method: 'POST',
      path: '/firmware',
      headers: headers(metadataPart.length + filePart.length + metadata.size + close.length),
      body: [metadataPart, filePart, bytes, close],
    });
    return { answer, uploaded: true };
  } finally {
    bar.stop();
  }
}

import { createReadStream } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError } from './cli-error.js';
import { fileProblem } from './file-problem.js';
import { hashFile } from './hash-file.js';
import { progressBar } from './progress.js';
import { failure, type RegistryClient } from './registry-client.js';

export interface PushOptions {
  name: string;
  version: string;
  labels: Record<string, string>;
}

/**
 * Publishes a file:
 *   1. hash it here, so the registry can check what arrives, and so that
 *   2. bytes the registry already holds are published by digest, without sending them;
 *   3. otherwise upload them (multipart, with a progress bar), declaring digest and size.
 * Prints one line: what was published, and whether it took any new space.
 */
export async function push(client: RegistryClient, file: string, options: PushOptions, print: (line: string) => void): Promise<void> {
  const what = `push ${options.name} ${options.version}`;
  let hashed: Awaited<ReturnType<typeof hashFile>>;
  try {
    hashed = await hashFile(file);
  } catch (error) {
    throw new CliError(`${what}: cannot read ${file}: ${fileProblem(error)}`);
  }
  const { digest, size } = hashed;
  const metadata = Buffer.from(JSON.stringify({ name: options.name, version: options.version, labels: options.labels, sha256: digest, size }));
  const boundary = `spore${randomBytes(12).toString('hex')}`;
  const metadataPart = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n`);
  const close = Buffer.from(`\r\n--${boundary}--\r\n`);
  const headers = (length: number) => ({ 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': length });

  const byDigest = [metadataPart, metadata, close];
  let answer = await client.send({ method: 'POST', path: '/firmware', headers: headers(total(byDigest)), body: byDigest });
  let how = 'by digest, no bytes sent';
  if (answer.status === 404 && answer.body.includes('BLOB_UNKNOWN')) {
    const filePart = Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="${path.basename(file).replace(/["\r\n]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const bar = progressBar('upload', size);
    let sent = 0;
    const bytes = createReadStream(file, { highWaterMark: 1024 * 1024 }).on('data', (chunk) => bar.update((sent += chunk.length)));
    try {
      answer = await client.send({
        method: 'POST',
        path: '/firmware',
        headers: headers(metadataPart.length + metadata.length + filePart.length + size + close.length),
        body: [metadataPart, metadata, filePart, bytes, close],
      });
    } finally {
      bar.stop();
    }
    how = 'uploaded';
  }
  if (answer.status !== 201 && answer.status !== 200) throw failure(what, answer);
  const record = JSON.parse(answer.body.toString()) as { name: string; version: string; size: number; sha256: string; deduplicated: boolean };
  const outcome = answer.status === 200 ? 'already published' : 'published';
  print(`${outcome} ${record.name} ${record.version} ${record.sha256} ${record.size} bytes (${how}${record.deduplicated ? ', no new space' : ''})`);
}

function total(parts: Buffer[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0);
}

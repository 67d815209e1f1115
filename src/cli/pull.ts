import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { isErrnoCode } from '../errors.js';
import { CliError } from './cli-error.js';
import { hashFile } from './hash-file.js';
import { progressBar } from './progress.js';
import { failure, type RegistryClient } from './registry-client.js';

/**
 * Downloads a firmware to `output` and proves it is whole:
 *   1. HEAD gives the size and the digest (the strong ETag);
 *   2. bytes go to `<output>.part`; a `.part` left by an interrupted pull is resumed with
 *      `Range: bytes=<have>-` and `If-Range: <etag>`, so a changed firmware starts over (200);
 *   3. the whole file is hashed; only a match is renamed to `output`, a mismatch is removed.
 */
export async function pull(client: RegistryClient, name: string, version: string, output: string, print: (line: string) => void): Promise<void> {
  const path = `/firmware/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  const head = await client.send({ method: 'HEAD', path });
  if (head.status === 404) throw new CliError(`pull: ${name} ${version} is not published`);
  if (head.status !== 200) throw new CliError(`pull ${name} ${version}: the registry answered ${head.status}`);
  const size = Number(head.headers['content-length']);
  const etag = String(head.headers.etag);
  const digest = /^"(sha256:[0-9a-f]{64})"$/.exec(etag)?.[1];
  if (!digest) throw new CliError(`pull ${name} ${version}: the registry sent no digest ETag`);

  const part = `${output}.part`;
  let have = await sizeOf(part);
  if (have > size) {
    await fs.rm(part);
    have = 0;
  }
  let resumed = false;
  if (have < size) {
    const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-`, 'If-Range': etag } : {};
    const res = await client.open({ method: 'GET', path, headers });
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw failure(`pull ${name} ${version}`, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
    }
    resumed = res.statusCode === 206;
    if (!resumed) have = 0;
    const bar = progressBar('download', size);
    let done = have;
    res.on('data', (chunk: Buffer) => bar.update((done += chunk.length)));
    try {
      await pipeline(res, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
    } finally {
      bar.stop();
    }
  }
  const got = await hashFile(part);
  if (got.digest !== digest) {
    await fs.rm(part, { force: true });
    throw new CliError(`pull ${name} ${version}: the file hashes to ${got.digest}, not ${digest}; it was removed, run pull again`);
  }
  await fs.rename(part, output);
  print(`pulled ${name} ${version} to ${output}: ${size} bytes, ${digest} verified${resumed ? `, resumed at byte ${have}` : ''}`);
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return 0;
    throw error;
  }
}

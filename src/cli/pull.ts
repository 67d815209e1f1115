import fs from 'node:fs/promises';
import path from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { CliError } from './cli-error.js';
import { hashFile } from './hash-file.js';
import { PartialFile } from './partial-file.js';
import { progressBar } from './progress.js';
import { receiveBody } from './receive-body.js';
import { failure, type RegistryClient } from './registry-client.js';

/**
 * Downloads a firmware to `output` and proves it is whole:
 *   1. HEAD gives the size and the digest (the strong ETag);
 *   2. bytes go to `<output>.part`, and the ETag they come from to `<output>.part.etag`;
 *   3. a `.part` left by an interrupted pull is resumed with `Range: bytes=<have>-` and
 *      `If-Range: <the ETag it was started with>`, so a firmware changed since starts over (200);
 *   4. the whole file is hashed; only a match is renamed to `output`, a mismatch is removed.
 */
export async function pull(client: RegistryClient, name: string, version: string, output: string, print: (line: string) => void): Promise<void> {
  const what = `pull ${name} ${version}`;
  await checkFolder(what, path.dirname(output));
  const url = `/firmware/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  const head = await client.send({ method: 'HEAD', path: url });
  if (head.status === 404) throw new CliError(`${what}: it is not published (spore-registry ls lists what is)`);
  if (head.status !== 200) throw new CliError(`${what}: the registry answered ${head.status}`);
  let expected = representation(what, head.headers);

  const file = new PartialFile(output);
  const earlier = await file.resumable();
  const same = earlier !== undefined && earlier.etag === expected.etag;
  let resumedAt = 0;
  if (!(same && earlier.size === expected.size)) {
    const from = same && earlier.size < expected.size ? earlier.size : 0;
    const res = await client.open({ method: 'GET', path: url, headers: from > 0 ? { Range: `bytes=${from}-`, 'If-Range': earlier?.etag ?? '' } : {} });
    if (res.statusCode === 206 && from > 0 && res.headers['content-range']?.startsWith(`bytes ${from}-`)) {
      resumedAt = from;
    } else if (res.statusCode === 200) {
      expected = representation(what, res.headers); // it may have changed since the HEAD
    } else {
      const body = await client.readAll(res);
      throw failure(what, { status: res.statusCode ?? 0, headers: res.headers, body });
    }
    const bar = progressBar('download', expected.size);
    const opened = resumedAt > 0 ? file.append() : file.start(expected.etag);
    let received: { written: number; whole: boolean };
    try {
      received = await receiveBody(res, opened, (written) => bar.update(resumedAt + written));
    } finally {
      bar.stop();
      await (await opened.catch(() => undefined))?.close();
    }
    if (!received.whole) {
      const have = resumedAt + received.written;
      throw new CliError(`${what}: the connection broke after ${have} of ${expected.size} bytes; run pull again to resume from there`);
    }
  }
  const got = await hashFile(file.part);
  if (got.digest !== expected.digest) {
    await file.remove();
    throw new CliError(`${what}: the file hashes to ${got.digest}, not ${expected.digest}; it was removed, run pull again`);
  }
  await file.finish();
  print(`pulled ${name} ${version} to ${output}: ${expected.size} bytes, ${expected.digest} verified${resumedAt > 0 ? `, resumed at byte ${resumedAt}` : ''}`);
}

/** Size, digest and ETag from an answer's headers; the registry's ETag is the quoted digest. */
function representation(what: string, headers: IncomingHttpHeaders): { size: number; digest: string; etag: string } {
  const etag = String(headers.etag);
  const digest = /^"(sha256:[0-9a-f]{64})"$/.exec(etag)?.[1];
  if (!digest) throw new CliError(`${what}: the registry sent no digest ETag; is --url a SPORE registry?`);
  return { size: Number(headers['content-length']), digest, etag };
}

/** Before any request: a download with nowhere to go is a usage problem, said plainly. */
async function checkFolder(what: string, dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new CliError(`${what}: the folder ${dir} does not exist; create it or choose another -o`);
}

import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What a client made of one upload: the status and error code it read, or how it failed. */
export type ClientOutcome = { status: number; code: string | undefined } | { failure: string };

export interface ClientUpload {
  /** The firmware file; its bytes are sent as the `firmware` part. */
  file: string;
  metadata: unknown;
  headers?: Record<string, string>;
  /** Send the file as the whole body (application/octet-stream) instead of multipart. */
  raw?: boolean;
}

/** Node's global fetch (undici), with FormData, as a Node publisher would write it. */
export async function fetchUpload(url: string, upload: ClientUpload): Promise<ClientOutcome> {
  const bytes = await fs.readFile(upload.file);
  let body: FormData | Blob;
  if (upload.raw) {
    body = new Blob([bytes], { type: 'application/octet-stream' });
  } else {
    body = new FormData();
    body.set('metadata', JSON.stringify(upload.metadata));
    body.set('firmware', new Blob([bytes]), path.basename(upload.file));
  }
  try {
    const answer = await fetch(`${url}/firmware`, { method: 'POST', body, headers: upload.headers ?? {} });
    const text = await answer.text();
    return { status: answer.status, code: errorCode(text) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { failure: cause?.code ?? cause?.message ?? String(error) };
  }
}

/**
 * curl, exactly as the README shows it (`curl -F metadata=… -F firmware=@file`). A header
 * given as '' is removed (`-H 'Expect:'`: curl then sends a large body without waiting for
 * 100 Continue).
 */
export function curlUpload(url: string, upload: ClientUpload): Promise<ClientOutcome> {
  const headers = Object.entries(upload.headers ?? {}).flatMap(([name, value]) => ['-H', value === '' ? `${name}:` : `${name}: ${value}`]);
  const body = upload.raw
    ? ['-H', 'Content-Type: application/octet-stream', '--data-binary', `@${upload.file}`]
    : ['-F', `metadata=${JSON.stringify(upload.metadata)}`, '-F', `firmware=@${upload.file}`];
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', ...headers, ...body, `${url}/firmware`];
  return new Promise((resolve) => {
    execFile('curl', args, { encoding: 'utf8', maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return resolve({ failure: stderr.trim() || error.message });
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), code: errorCode(stdout.slice(0, cut)) });
    });
  });
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

import { randomBytes } from 'node:crypto';

export interface Part {
  name: string;
  /** Present for a file part. */
  filename?: string;
  contentType?: string;
  body: Buffer | string;
}

export interface Multipart {
  contentType: string;
  body: Buffer;
}

/** A real multipart/form-data body (RFC 7578), built by hand so tests control every byte. */
export function multipart(parts: Part[]): Multipart {
  const boundary = `----spore-test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.contentType ?? (part.filename === undefined ? undefined : 'application/octet-stream');
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`),
      Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** The usual upload: metadata first (as curl -F sends it), then the file. */
export function firmwareUpload(metadata: unknown, firmware: Buffer): Multipart {
  return multipart([
    { name: 'metadata', body: typeof metadata === 'string' ? metadata : JSON.stringify(metadata) },
    { name: 'firmware', filename: 'firmware.bin', body: firmware },
  ]);
}

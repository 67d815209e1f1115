import { createReadStream } from 'node:fs';
import { DigestHasher, type Digest } from '../digest.js';

/** SHA-256 and size of a file, streamed. */
export async function hashFile(file: string, onBytes: (bytes: number) => void = () => {}): Promise<{ digest: Digest; size: number }> {
  const hasher = new DigestHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hasher.update(chunk as Buffer);
    onBytes(hasher.size);
  }
  return { digest: hasher.digest(), size: hasher.size };
}

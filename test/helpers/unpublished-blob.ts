import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FsBlobStore } from '../../src/cas/fs-blob-store.js';

/**
 * Puts bytes in a registry's store without publishing them (what a crash or a deleted version
 * leaves), stored `ageMs` ago. Resolves to the blob's path.
 */
export async function storeUnpublished(dataDir: string, bytes: Buffer, ageMs = 0): Promise<string> {
  const store = await FsBlobStore.open(dataDir);
  const { digest } = await store.put(Readable.from([bytes]));
  const file = store.pathOf(digest);
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    await fs.utimes(file, then, then);
  }
  return file;
}

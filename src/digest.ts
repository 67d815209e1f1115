import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/**
 * A content digest as it is shown everywhere outside paths: `sha256:<64 lowercase hex>`.
 * The brand keeps unchecked strings from passing for digests; only `parseDigest` and
 * `DigestHasher` make them.
 */
export type Digest = `sha256:${string}` & { readonly __digest: unique symbol };

const HEX = /^[0-9a-f]{64}$/;

/** Accepts `sha256:<hex>` or bare hex (upper case is folded); anything else is DIGEST_INVALID. */
export function parseDigest(text: string): Digest {
  const hex = (text.startsWith('sha256:') ? text.slice(7) : text).toLowerCase();
  if (!HEX.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', 'a digest is "sha256:" followed by 64 hex digits', {
      digest: text.slice(0, 80),
    });
  }
  return `sha256:${hex}` as Digest;
}

export function isDigest(text: string): text is Digest {
  return text.startsWith('sha256:') && HEX.test(text.slice(7));
}

export function digestHex(digest: Digest): string {
  return digest.slice(7);
}

/** Hashes bytes as they pass and counts them; `digest()` may be called once, at the end. */
export class DigestHasher {
  #hash: Hash = createHash('sha256');
  size = 0;

  update(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): Digest {
    return `sha256:${this.#hash.digest('hex')}` as Digest;
  }
}

export function digestOf(bytes: Buffer): Digest {
  const hasher = new DigestHasher();
  hasher.update(bytes);
  return hasher.digest();
}

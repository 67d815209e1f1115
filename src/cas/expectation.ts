import { DigestMismatchError, SizeMismatchError } from '../errors.js';
import type { BlobInfo, Expectation } from './blob-store.js';

/** Throws when bytes are not what their publisher declared: size first, it is the cheaper fact. */
export function checkExpectation(actual: BlobInfo, expect: Expectation): void {
  if (expect.size !== undefined && expect.size !== actual.size) {
    throw new SizeMismatchError(expect.size, actual.size);
  }
  if (expect.digest !== undefined && expect.digest !== actual.digest) {
    throw new DigestMismatchError(expect.digest, actual.digest);
  }
}

import { randomBytes } from 'node:crypto';
import { digestOf, type Digest } from '../../src/digest.js';

/** Random bytes of a given size: every fixture is different unless a test shares one. */
export function firmwareBytes(size = 4096): Buffer {
  return randomBytes(size);
}

export function sha256(bytes: Buffer): Digest {
  return digestOf(bytes);
}

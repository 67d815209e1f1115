import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import { RegistryError } from '../errors.js';

/**
 * The bearer tokens that may write (SPEC §2, §3): from REGISTRY_TOKENS and, one per line,
 * from REGISTRY_TOKENS_FILE, which `reload` reads again (on SIGHUP) so tokens can be rotated
 * without a restart. Tokens are kept only as SHA-256 digests and compared with
 * `timingSafeEqual`, all of them every time, so neither a token's content nor its length, nor
 * which one matched, shows in the time taken. Tokens never appear in errors or logs.
 */
export class WriteTokens {
  #fingerprints: Buffer[] = [];

  private constructor(
    private readonly fromEnvironment: readonly string[],
    private readonly file: string | undefined,
  ) {}

  static async load(tokens: readonly string[], file: string | undefined): Promise<WriteTokens> {
    const set = new WriteTokens(tokens, file);
    await set.reload();
    return set;
  }

  /**
   * Reads the tokens file again. If it cannot be read, the tokens in use stay and the error
   * is thrown: a failed rotation must not open writes to everyone.
   */
  async reload(): Promise<number> {
    let fromFile: string[] = [];
    if (this.file !== undefined) {
      try {
        fromFile = parseTokensFile(await fs.readFile(this.file, 'utf8'));
      } catch (error) {
        throw new RegistryError('UNAVAILABLE', `the tokens file ${this.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); the tokens in use are kept`, {
          file: this.file,
        });
      }
    }
    this.#fingerprints = [...new Set([...this.fromEnvironment, ...fromFile])].map(fingerprint);
    return this.#fingerprints.length;
  }

  /** How many distinct tokens may write now (logged at start-up and on reload). */
  get count(): number {
    return this.#fingerprints.length;
  }

  /** False when no token is configured: writes are open. */
  get enabled(): boolean {
    return this.#fingerprints.length > 0 || this.file !== undefined;
  }

  accepts(token: string): boolean {
    const presented = fingerprint(token);
    let ok = false;
    for (const known of this.#fingerprints) ok = timingSafeEqual(known, presented) || ok;
    return ok;
  }
}

/** One token a line; blank lines and lines starting with # are skipped. */
export function parseTokensFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function fingerprint(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

import fs from 'node:fs/promises';
import { isErrnoCode } from '../errors.js';

/**
 * A download in progress: `<output>.part` holds the bytes so far, and `<output>.part.etag` the
 * ETag of the firmware they came from. The ETag is kept because it is the only way to know
 * later which bytes a `.part` holds: sent as `If-Range`, it makes the registry resume only the
 * very same firmware and send a changed one whole (RFC 9110 §13.1.5).
 */
export class PartialFile {
  readonly part: string;
  readonly etagFile: string;

  constructor(readonly output: string) {
    this.part = `${output}.part`;
    this.etagFile = `${output}.part.etag`;
  }

  /**
   * What an earlier pull left: its size and ETag. A `.part` without its ETag (or an ETag
   * without a `.part`) is of unknown origin and counts as nothing.
   */
  async resumable(): Promise<{ size: number; etag: string } | undefined> {
    const [size, etag] = await Promise.all([missingAsUndefined(fs.stat(this.part)), missingAsUndefined(fs.readFile(this.etagFile, 'utf8'))]);
    if (size === undefined || etag === undefined || size.size === 0 || etag.trim() === '') return undefined;
    return { size: size.size, etag: etag.trim() };
  }

  /** Starts over: an empty `.part` for the firmware with this ETag. */
  async start(etag: string): Promise<fs.FileHandle> {
    await this.remove();
    await fs.writeFile(this.etagFile, `${etag}\n`);
    return fs.open(this.part, 'w');
  }

  /** Opens the `.part` to append the rest. */
  append(): Promise<fs.FileHandle> {
    return fs.open(this.part, 'a');
  }

  /** The verified bytes take the output's name; the ETag has served its purpose. */
  async finish(): Promise<void> {
    await fs.rename(this.part, this.output);
    await fs.rm(this.etagFile, { force: true });
  }

  async remove(): Promise<void> {
    await fs.rm(this.part, { force: true });
    await fs.rm(this.etagFile, { force: true });
  }
}

async function missingAsUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../fsync-dir.js';
import { isErrnoCode, RegistryError } from '../errors.js';
import { segmentFile } from './journal-files.js';

/**
 * Appends records to the journal segment being written, one fdatasync per append (callers
 * group records, so concurrent changes share it), and starts the next segment on `rotate`.
 *
 * A failed append is undone before anything else is written: the segment is cut back to its
 * last whole record, so a change that was refused can never come back at the next start-up.
 * While the cut itself fails, every append fails too (the registry answers "unavailable"
 * instead of writing after records nobody acknowledged).
 */
export class JournalAppender {
  #handle: fs.FileHandle;
  #number: number;
  /** Bytes of whole, synced records in the current segment. */
  #size: number;
  /** The segment holds bytes past `#size` that must be cut off before the next append. */
  #dirty = false;

  private constructor(
    private readonly dbFile: string,
    handle: fs.FileHandle,
    number: number,
    size: number,
  ) {
    this.#handle = handle;
    this.#number = number;
    this.#size = size;
  }

  /** Continues segment `number` after its first `size` bytes, creating it when absent. */
  static async open(dbFile: string, number: number, size: number): Promise<JournalAppender> {
    const handle = await openSegment(dbFile, number, false);
    return new JournalAppender(dbFile, handle, number, size);
  }

  get segment(): number {
    return this.#number;
  }

  get size(): number {
    return this.#size;
  }

  async append(bytes: Buffer): Promise<void> {
    if (this.#dirty) await this.#undo();
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.#handle.write(bytes, written, bytes.length - written, this.#size + written);
        written += bytesWritten;
      }
      await this.#handle.datasync();
      this.#size += bytes.length;
    } catch (error) {
      this.#dirty = true;
      await this.#undo().catch(() => {});
      throw unavailable(error);
    }
  }

  /** Closes the current segment (every record in it is synced) and starts the next one. */
  async rotate(): Promise<number> {
    if (this.#dirty) await this.#undo();
    const next = await openSegment(this.dbFile, this.#number + 1, true);
    const closed = this.#number;
    await this.#handle.close();
    this.#handle = next;
    this.#number = closed + 1;
    this.#size = 0;
    return closed;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }

  async #undo(): Promise<void> {
    try {
      await this.#handle.truncate(this.#size);
      await this.#handle.datasync();
      this.#dirty = false;
    } catch (error) {
      throw unavailable(error);
    }
  }
}

/**
 * Opens segment `number` to continue it, or (`fresh`) as a new, empty segment: a file left
 * under that name (a segment whose removal a power cut undid) holds only changes a snapshot
 * already has, and must not show through behind new records.
 */
async function openSegment(dbFile: string, number: number, fresh: boolean): Promise<fs.FileHandle> {
  const file = segmentFile(dbFile, number);
  if (!fresh) {
    try {
      return await fs.open(file, 'r+');
    } catch (error) {
      if (!isErrnoCode(error, 'ENOENT')) throw error;
    }
  }
  const handle = await fs.open(file, 'w+', 0o644);
  // The new name must survive a power cut before records in it are acknowledged.
  await fsyncDir(path.dirname(file));
  return handle;
}

function unavailable(error: unknown): RegistryError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
  return new RegistryError('UNAVAILABLE', `the index journal could not be written (${code}); the change was not made`, { cause: code }, { cause: error });
}

import type { PutResult, StagedBlob } from './blob-store.js';
import type { Digest } from '../digest.js';

/** What a store does with checked bytes held under a temporary name. */
export interface TempBytes {
  /** Makes them visible under their digest; true when the store already had those bytes. */
  adopt(): Promise<boolean>;
  /** Drops the temporary name; nothing when it is gone already. */
  remove(): Promise<void>;
}

/** Received, checked bytes waiting under a temporary name to become a blob. */
export class TempStagedBlob implements StagedBlob {
  #settled = false;

  constructor(
    private readonly temp: TempBytes,
    readonly digest: Digest,
    readonly size: number,
  ) {}

  async commit(): Promise<PutResult> {
    if (this.#settled) throw new Error(`staged blob ${this.digest} was already committed or discarded`);
    const deduplicated = await this.temp.adopt();
    this.#settled = true;
    await this.temp.remove();
    return { digest: this.digest, size: this.size, deduplicated };
  }

  async discard(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.temp.remove();
  }
}

/** `put` made of `stage`: commits, and drops the temporary bytes whatever happens. */
export async function commitStaged(staged: StagedBlob): Promise<PutResult> {
  try {
    return await staged.commit();
  } finally {
    await staged.discard();
  }
}

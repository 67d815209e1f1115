import type { FirmwareRecord } from '../firmware/firmware-record.js';

export type VersionKey = Pick<FirmwareRecord, 'name' | 'version'>;
export type LinkTarget = Pick<FirmwareRecord, 'name' | 'version' | 'digest'>;

/**
 * A derived, browsable view of what is published (the file-system store's
 * `<name>/<version>/firmware.bin` tree). Optional: a store without one (S3) has none, and the
 * registry works the same. A view is rebuilt from the index, so a failure in it never stops a
 * publish; the registry only reports it.
 */
export interface VersionView {
  /** Points the version's entry at its bytes, replacing what was there. */
  link(record: LinkTarget): Promise<void>;
  /** Removes the version's entry; nothing there is no error. */
  unlink(name: string, version: string): Promise<void>;
  exists(name: string, version: string): Promise<boolean>;
  /** Whether the version's entry is there and shows exactly its bytes. */
  isLinked(record: LinkTarget): Promise<boolean>;
  /**
   * Prepares a pruning of the entries of versions that are not published: what tells the
   * view's own entries from foreign files is taken now, before gc removes any blob.
   */
  preparePrune(): Promise<(options: PruneOptions) => Promise<PruneReport>>;
}

export interface PruneOptions {
  isPublished: (name: string, version: string) => Promise<boolean>;
  /** Entries made at or after this (ms since the epoch) stay. */
  cutoff: number;
  dryRun: boolean;
}

export interface PruneReport {
  links: VersionKey[];
  /** Entries of unpublished versions kept because they are younger than the cutoff. */
  youngLinks: number;
  /** Files in the view that it did not make: never removed. */
  foreignFiles: number;
}

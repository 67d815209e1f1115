import type { Digest } from '../digest.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { Labels } from '../firmware/labels.js';

export type { FirmwareRecord } from '../firmware/firmware-record.js';

/**
 * The index contract: what the registry needs from the store of published versions. Two
 * implementations keep it — the embedded index (sql.js with a journal, one process:
 * embedded-index.ts) and PostgreSQL (several instances share one database) — and one contract
 * suite (test/index/index-contract.ts) proves both. Rows only: never paths of blobs, never
 * bytes.
 *
 * Every change is durable before it is visible: when `insert`, `relabel` or `remove` resolves,
 * the change survives a crash, and until then no reader (nor gc) sees it. Failures are
 * RegistryErrors: VERSION_EXISTS, NOT_FOUND as each method says; UNAVAILABLE when the index
 * cannot be written or read now (a database that is away, a disk that refuses a write), with
 * nothing changed.
 */
export interface FirmwareIndex {
  /** What opening found; only the embedded index has a journal to replay. */
  readonly opened: OpenReport;

  /** Adds a version. VERSION_EXISTS if (name, version) is there, whatever its bytes. */
  insert(record: FirmwareRecord): Promise<void>;
  /** Replaces a version's labels. NOT_FOUND if absent. */
  relabel(name: string, version: string, labels: Labels): Promise<void>;
  /** Removes a version. NOT_FOUND if absent. */
  remove(name: string, version: string): Promise<void>;

  find(name: string, version: string): Promise<FirmwareRecord | undefined>;
  /** Sorted by name, then SemVer precedence highest first, then newest first; at most `limit`. */
  list(filter?: ListFilter, limit?: number): Promise<FirmwareRecord[]>;
  /** Size and first publish time of a digest, when any version points at it. */
  firstPublished(digest: Digest): Promise<{ size: number; createdAt: string } | undefined>;
  /** Whether any version points at a digest. */
  isReferenced(digest: Digest): Promise<boolean>;
  stats(): Promise<IndexStats>;
  /** Just the number of versions: cheap enough for every health check. UNAVAILABLE when the index does not answer. */
  count(): Promise<number>;

  /**
   * Runs `work` while no other holder of `digest`'s lock runs — in this process, or in any
   * registry sharing this index. Publishes hold it from placing bytes to inserting the row;
   * gc decides and deletes under it, so it never removes bytes a publish is about to name.
   */
  withDigestLock<T>(digest: Digest, work: () => Promise<T>): Promise<T>;

  /**
   * Calls `listener` after changes become visible: this registry's at once, another's sharing
   * the index within a bounded delay (about a second). `undefined` means anything may have
   * changed (notifications were missed). Returns a function that stops the calls.
   */
  onChange(listener: (change: ChangeNotice | undefined) => void): () => void;

  /** Tells `listener` how long each durable write takes, in seconds. */
  observePersist(listener: (seconds: number) => void): void;
  /**
   * Sets what the index waits for before it forgets which versions changed recently (the
   * embedded index folds its journal into a snapshot): the version links of those changes.
   */
  beforeSnapshot(settled: () => Promise<void>): void;

  /** Waits for changes in flight, then releases what the index holds. */
  close(): Promise<void>;
}

export interface ChangeNotice {
  name: string;
  version: string;
}

export interface ListFilter {
  name?: string;
  version?: string;
  /** Every pair must be among the labels (AND). */
  labels?: [key: string, value: string][];
  /** Leave out pre-release versions. */
  releasesOnly?: boolean;
}

export interface IndexStats {
  versions: number;
  distinctDigests: number;
  /** Sum of every version's size: what the store would hold without deduplication. */
  logicalBytes: number;
  /** Sum of the sizes of the distinct digests: what it holds for them. */
  storedBytes: number;
}

/** What start-up found in the journal. */
export interface OpenReport {
  /** Changes replayed over the snapshot. */
  replayed: number;
  /** Names and versions those changes touched: the only version links that may lag. */
  touched: { name: string; version: string }[];
  /** The index was new, or from an older release: nothing about the version tree is known. */
  fresh: boolean;
}

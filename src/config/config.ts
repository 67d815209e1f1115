import { loadBlobStoreConfig, type BlobStoreConfig } from './blob-store-config.js';
import { loadIndexConfig, type IndexConfig } from './index-config.js';

/** Everything the server needs to start, from the environment (SPEC §2), checked. */
export interface Config {
  port: number;
  host: string;
  registryDir: string;
  registryDb: string;
  maxUploadBytes: number;
  /** Bearer tokens allowed to write; with no tokens and no tokens file, writes are open. */
  tokens: string[];
  /** More tokens, one a line, read again on SIGHUP. */
  tokensFile: string | undefined;
  /** Absolute base for URLs in responses, without a trailing slash. */
  publicUrl: string | undefined;
  /** Believe X-Forwarded-For (the client address in logs): only behind a proxy you run. */
  trustProxy: boolean;
  /** Origins that browsers may call the API from ('*' for any); empty: CORS off. */
  corsOrigins: string[];
  /** Uploads received at once; more are answered 503 with Retry-After. */
  maxConcurrentUploads: number;
  /** A connection with no bytes moving either way for this long is closed. */
  idleTimeoutMs: number;
  /** A request's headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** Once the index journal being written passes this size, a background snapshot folds it in. */
  journalSnapshotBytes: number;
  /**
   * Which version links start-up checks: those of the changes the journal replayed (the only
   * ones a crash can leave behind), or every one (after a hand edit of the tree).
   */
  repairTree: 'changed' | 'all';
  /** An upload body slower than this many bytes a second over a whole window is cut off; 0: never. */
  minUploadRate: number;
  /** The window over which the upload rate is measured. */
  uploadRateWindowMs: number;
  /** BLOB_STORE and the S3_* settings. */
  blobStore: BlobStoreConfig;
  /** DATABASE_URL and DATABASE_POOL_SIZE: the embedded index at REGISTRY_DB, or PostgreSQL. */
  index: IndexConfig;
}

export type Environment = Record<string, string | undefined>;

/** Every problem found in the configuration, so one run shows them all. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  PORT: '3002',
  HOST: '0.0.0.0',
  REGISTRY_DIR: './registry',
  REGISTRY_DB: './registry.db',
  MAX_UPLOAD_BYTES: String(1024 ** 3),
  MAX_CONCURRENT_UPLOADS: '16',
  IDLE_TIMEOUT_SECONDS: '60',
  HEADERS_TIMEOUT_SECONDS: '20',
  MIN_UPLOAD_RATE: '64K',
  MIN_UPLOAD_RATE_WINDOW_SECONDS: '30',
  TRUST_PROXY: 'false',
  JOURNAL_SNAPSHOT_BYTES: '16M',
  REPAIR_TREE: 'changed',
} as const;

const UNITS: Record<string, number> = { '': 1, K: 1024, KIB: 1024, M: 1024 ** 2, MIB: 1024 ** 2, G: 1024 ** 3, GIB: 1024 ** 3 };

export function loadConfig(env: Environment): Config {
  const problems: string[] = [];
  const read = (key: keyof typeof DEFAULTS) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? DEFAULTS[key] : value;
  };
  const optional = (key: string) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const check = <T>(key: string, parsed: T | undefined, expected: string): T | undefined => {
    if (parsed === undefined) problems.push(`${key} must be ${expected}, not ${JSON.stringify(env[key])}`);
    return parsed;
  };

  const port = check('PORT', wholeNumber(read('PORT'), 0, 65535), 'a whole number from 0 to 65535');
  const maxUploadBytes = check('MAX_UPLOAD_BYTES', parseBytes(read('MAX_UPLOAD_BYTES')), 'a positive number of bytes, optionally with K, M or G (binary units)');
  const maxConcurrentUploads = check('MAX_CONCURRENT_UPLOADS', wholeNumber(read('MAX_CONCURRENT_UPLOADS'), 1, 10_000), 'a whole number from 1 to 10000');
  const idleTimeoutMs = check('IDLE_TIMEOUT_SECONDS', milliseconds(read('IDLE_TIMEOUT_SECONDS')), 'a number of seconds from 0.001 to 86400');
  const headersTimeoutMs = check('HEADERS_TIMEOUT_SECONDS', milliseconds(read('HEADERS_TIMEOUT_SECONDS')), 'a number of seconds from 0.001 to 86400');
  const journalSnapshotBytes = check('JOURNAL_SNAPSHOT_BYTES', parseBytes(read('JOURNAL_SNAPSHOT_BYTES')), 'a positive number of bytes, optionally with K, M or G (binary units)');
  const repairTree = check('REPAIR_TREE', (['changed', 'all'] as const).find((value) => value === read('REPAIR_TREE')), '"changed" or "all"');
  const minUploadRate = check('MIN_UPLOAD_RATE', read('MIN_UPLOAD_RATE') === '0' ? 0 : parseBytes(read('MIN_UPLOAD_RATE')), 'bytes per second, optionally with K, M or G (binary units), or 0 for no minimum');
  const uploadRateWindowMs = check('MIN_UPLOAD_RATE_WINDOW_SECONDS', milliseconds(read('MIN_UPLOAD_RATE_WINDOW_SECONDS')), 'a number of seconds from 0.001 to 86400');
  const trustProxy = check('TRUST_PROXY', { true: true, false: false }[read('TRUST_PROXY')], '"true" or "false"');

  let publicUrl: string | undefined;
  const publicUrlText = optional('PUBLIC_URL');
  if (publicUrlText) {
    publicUrl = check('PUBLIC_URL', absoluteUrl(publicUrlText), 'an absolute http(s) URL without query, such as https://fw.example.com');
  }

  const corsOrigins = list(optional('CORS_ORIGINS'));
  for (const origin of corsOrigins) {
    if (origin !== '*' && absoluteUrl(origin) !== origin) {
      problems.push(`CORS_ORIGINS holds "*" or origins such as https://ui.example.com, not ${JSON.stringify(origin)}`);
    }
  }

  const blobStore = loadBlobStoreConfig(env, problems);
  const index = loadIndexConfig(env, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: port ?? 0,
    host: read('HOST'),
    registryDir: read('REGISTRY_DIR'),
    registryDb: read('REGISTRY_DB'),
    maxUploadBytes: maxUploadBytes ?? 0,
    tokens: list(env.REGISTRY_TOKENS),
    tokensFile: optional('REGISTRY_TOKENS_FILE'),
    publicUrl,
    trustProxy: trustProxy ?? false,
    corsOrigins,
    maxConcurrentUploads: maxConcurrentUploads ?? 1,
    idleTimeoutMs: idleTimeoutMs ?? 0,
    headersTimeoutMs: headersTimeoutMs ?? 0,
    journalSnapshotBytes: journalSnapshotBytes ?? 0,
    repairTree: repairTree ?? 'changed',
    minUploadRate: minUploadRate ?? 0,
    uploadRateWindowMs: uploadRateWindowMs ?? 0,
    blobStore,
    index,
  };
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function wholeNumber(text: string, min: number, max: number): number | undefined {
  const value = Number(text);
  return /^\d+$/.test(text) && value >= min && value <= max ? value : undefined;
}

function milliseconds(text: string): number | undefined {
  const seconds = Number(text);
  return /^\d+(\.\d+)?$/.test(text) && seconds > 0 && seconds <= 86_400 ? Math.round(seconds * 1000) : undefined;
}

function parseBytes(text: string): number | undefined {
  const match = /^(\d+)\s*([KMG](?:iB)?)?$/i.exec(text);
  if (!match) return undefined;
  const bytes = Number(match[1]) * (UNITS[(match[2] ?? '').toUpperCase()] ?? NaN);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** The URL without a trailing slash, if it is an absolute http(s) URL without query or fragment. */
function absoluteUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) return undefined;
    return url.href.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

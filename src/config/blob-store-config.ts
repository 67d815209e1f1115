import type { S3StoreConfig } from '../cas/s3-config.js';

/**
 * Where the blobs live: the data folder (the default), or a bucket of an S3-compatible store;
 * and how many bytes of hot blobs the server keeps in memory in front of either (BLOB_CACHE_BYTES,
 * read with the server's settings: none for the command-line tools).
 */
export type BlobStoreConfig = ({ kind: 'fs' } | { kind: 's3'; s3: S3StoreConfig; tempGraceMs: number }) & { cacheBytes?: number };

const S3_KEYS = ['S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_PREFIX', 'S3_FORCE_PATH_STYLE', 'S3_CHECKSUMS', 'S3_TEMP_GRACE_SECONDS'] as const;

/** An hour: longer than any upload takes, so no instance's upload in flight is swept. */
const DEFAULT_TEMP_GRACE_SECONDS = 3600;

/**
 * BLOB_STORE and the S3_* settings, checked. Problems are added to `problems` so that they are
 * reported with every other one. Credentials are not settings of ours: the SDK's usual chain
 * finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles); only when
 * both keys are in `env` are they passed on, so that `env` need not be `process.env`.
 */
export function loadBlobStoreConfig(env: Record<string, string | undefined>, problems: string[]): BlobStoreConfig {
  const get = (key: string) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const kind = get('BLOB_STORE') ?? 'fs';
  if (kind === 'fs') {
    // A bucket set up for a store that is not selected is a deployment mistake, not a default.
    const stray = S3_KEYS.filter((key) => get(key) !== undefined);
    if (stray.length > 0) problems.push(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set, but BLOB_STORE is "fs": set BLOB_STORE=s3 to keep blobs in S3`);
    return { kind: 'fs' };
  }
  if (kind !== 's3') {
    problems.push(`BLOB_STORE must be "fs" or "s3", not ${JSON.stringify(env.BLOB_STORE)}`);
    return { kind: 'fs' };
  }

  const bucket = get('S3_BUCKET');
  if (bucket === undefined) problems.push('S3_BUCKET must be set when BLOB_STORE is "s3"');
  else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`S3_BUCKET must be a bucket name (3–63 characters a-z, 0-9, "." and "-"), not ${JSON.stringify(bucket)}`);

  const endpoint = get('S3_ENDPOINT');
  if (endpoint !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(endpoint)) {
    problems.push(`S3_ENDPOINT must be an http(s) URL without a path, such as http://127.0.0.1:7480, not ${JSON.stringify(endpoint)}`);
  }

  const prefix = get('S3_PREFIX');
  if (prefix !== undefined && (prefix.startsWith('/') || !prefix.endsWith('/'))) {
    problems.push(`S3_PREFIX must end with "/" and not start with one, such as spore/, not ${JSON.stringify(prefix)}`);
  }

  const pathStyleText = get('S3_FORCE_PATH_STYLE') ?? 'false';
  const forcePathStyle = { true: true, false: false }[pathStyleText];
  if (forcePathStyle === undefined) problems.push(`S3_FORCE_PATH_STYLE must be "true" or "false", not ${JSON.stringify(pathStyleText)}`);

  const checksums = get('S3_CHECKSUMS') ?? 'WHEN_REQUIRED';
  if (checksums !== 'WHEN_REQUIRED' && checksums !== 'WHEN_SUPPORTED') {
    problems.push(`S3_CHECKSUMS must be "WHEN_REQUIRED" or "WHEN_SUPPORTED", not ${JSON.stringify(checksums)}`);
  }

  const graceText = get('S3_TEMP_GRACE_SECONDS') ?? String(DEFAULT_TEMP_GRACE_SECONDS);
  const graceSeconds = Number(graceText);
  if (!/^\d+(\.\d+)?$/.test(graceText) || graceSeconds > 7 * 86_400) {
    problems.push(`S3_TEMP_GRACE_SECONDS must be a number of seconds from 0 to 604800, not ${JSON.stringify(graceText)}`);
  }

  const accessKeyId = get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = get('AWS_SECRET_ACCESS_KEY');
  const sessionToken = get('AWS_SESSION_TOKEN');
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;

  return {
    kind: 's3',
    s3: {
      bucket: bucket ?? '',
      ...(endpoint === undefined ? {} : { endpoint }),
      region: get('S3_REGION') ?? get('AWS_REGION') ?? 'us-east-1',
      prefix: prefix ?? '',
      forcePathStyle: forcePathStyle ?? false,
      checksums: checksums === 'WHEN_SUPPORTED' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      ...(credentials === undefined ? {} : { credentials }),
    },
    tempGraceMs: Math.round(graceSeconds * 1000) || 0,
  };
}

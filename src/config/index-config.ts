/**
 * Where the index lives: the embedded sql.js index at REGISTRY_DB (the default, one machine),
 * or PostgreSQL at DATABASE_URL, which several instances share.
 */
export type IndexConfig = { kind: 'embedded' } | { kind: 'postgres'; url: string; poolSize: number };

export const DEFAULT_DATABASE_POOL_SIZE = 10;
const MAX_DATABASE_POOL_SIZE = 1000;

/**
 * DATABASE_URL and DATABASE_POOL_SIZE, checked. Problems are added to `problems` so that they
 * are reported with every other one. A URL is never echoed back: it may hold a password.
 */
export function loadIndexConfig(env: Record<string, string | undefined>, problems: string[]): IndexConfig {
  const url = env.DATABASE_URL?.trim() || undefined;
  const poolSizeText = env.DATABASE_POOL_SIZE?.trim() || undefined;
  if (url === undefined) {
    // A pool for a database that is not selected is a deployment mistake, not a default.
    if (poolSizeText !== undefined) problems.push('DATABASE_POOL_SIZE is set, but DATABASE_URL is not: set DATABASE_URL=postgres://… to keep the index in PostgreSQL');
    return { kind: 'embedded' };
  }
  if (!isPostgresUrl(url)) problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL, such as postgres://spore@db.example.com:5432/spore (the value is not shown: it may hold a password)');
  const poolSizeValue = poolSizeText ?? String(DEFAULT_DATABASE_POOL_SIZE);
  const poolSize = Number(poolSizeValue);
  const poolSizeValid = /^\d+$/.test(poolSizeValue) && poolSize >= 1 && poolSize <= MAX_DATABASE_POOL_SIZE;
  if (!poolSizeValid) problems.push(`DATABASE_POOL_SIZE must be a whole number from 1 to ${MAX_DATABASE_POOL_SIZE}, not ${JSON.stringify(env.DATABASE_POOL_SIZE)}`);
  return { kind: 'postgres', url, poolSize: poolSizeValid ? poolSize : DEFAULT_DATABASE_POOL_SIZE };
}

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

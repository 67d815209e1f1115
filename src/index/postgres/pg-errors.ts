import { RegistryError } from '../../errors.js';

/**
 * What a failure of node-postgres means for the registry. The database being away — refused,
 * reset, shut down, timed out — is UNAVAILABLE naming `postgresql` (the HTTP layer answers 503
 * with Retry-After; `/health` names the dependency). Anything else is a fault of ours and stays
 * what it is.
 */

/** PostgreSQL SQLSTATEs of a server going away or not yet taking connections. */
const AWAY_STATES = new Set([
  '57P01', // admin_shutdown: pg_ctl stop -m fast
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '57014', // query_canceled: a statement timeout
  '53300', // too_many_connections
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
]);

/** Node's socket errors on the way to the server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** node-postgres and pg-pool report these without a code. */
const AWAY_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/;

/** The unique_violation SQLSTATE: (name, version) is taken. */
export const UNIQUE_VIOLATION = '23505';

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` says the database cannot be reached now (rather than that a query is wrong). */
export function isDatabaseAway(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = sqlState(error);
  if (code !== undefined && (AWAY_STATES.has(code) || SOCKET_CODES.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseAway);
  return AWAY_MESSAGES.test(error.message) || (error.cause !== undefined && isDatabaseAway(error.cause));
}

export function databaseUnavailable(what: string, cause?: unknown): RegistryError {
  const reason = cause instanceof Error ? `: ${cause.message || sqlState(cause) || cause.name}` : '';
  return new RegistryError('UNAVAILABLE', `the index database (PostgreSQL) cannot ${what} now${reason}`, { dependency: 'postgresql' }, { cause });
}

/** Runs `query`, turning "the database is away" into UNAVAILABLE; other failures pass through. */
export async function orUnavailable<T>(what: string, query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw isDatabaseAway(error) ? databaseUnavailable(what, error) : error;
  }
}

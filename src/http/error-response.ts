import type { ServerResponse } from 'node:http';
import { isRegistryError, RegistryError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { RETRY_AFTER_SECONDS, STATUS_OF } from './error-status.js';

export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string; details?: RegistryError['details'] };
}

/** The JSON shape of every error (SPEC §3). */
export function errorBody(error: RegistryError): ErrorBody {
  const hasDetails = Object.keys(error.details).length > 0;
  return { success: false, error: { code: error.code, message: error.message, ...(hasDetails ? { details: error.details } : {}) } };
}

/** Answers an error on a raw response (the download fast path, which runs outside koa). */
export function sendError(res: ServerResponse, error: RegistryError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(errorBody(error));
  const retryAfter = RETRY_AFTER_SECONDS[error.code];
  res.writeHead(STATUS_OF[error.code], {
    ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/**
 * A registry error passes as it is; anything else is a failure of ours: logged with its cause,
 * and answered as INTERNAL without internals.
 */
export function asRegistryError(caught: unknown, log: Logger, request: { method?: string; path: string }): RegistryError {
  if (isRegistryError(caught)) return caught;
  log.error({ err: caught, method: request.method, path: request.path }, 'unexpected error');
  return new RegistryError('INTERNAL', 'the registry failed to handle this request; the cause is in its log');
}

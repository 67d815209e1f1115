import { ApiError } from './api.js';

/** The registry's own message, with its code; a token problem says where to put one. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const hint = error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN' ? ' (set a write token, top right)' : '';
    return `Refused (${error.code}): ${error.message}${hint}`;
  }
  return error instanceof Error ? error.message : String(error);
}

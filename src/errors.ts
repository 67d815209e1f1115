/**
 * Every failure the registry reports on purpose is a RegistryError with a stable `code`.
 * The code says what went wrong; the facts (`details`) say with what. Status codes are
 * not known here: `src/http/error-status.ts` maps codes to HTTP, and nothing else does.
 */
export type ErrorCode =
  | 'METADATA_INVALID'
  | 'MULTIPART_INVALID'
  | 'NAME_INVALID'
  | 'VERSION_INVALID'
  | 'LABELS_INVALID'
  | 'FIRMWARE_MISSING'
  | 'FIRMWARE_EMPTY'
  | 'QUERY_INVALID'
  | 'REQUEST_MALFORMED'
  | 'DIGEST_INVALID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BLOB_UNKNOWN'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'VERSION_EXISTS'
  | 'PRECONDITION_FAILED'
  | 'TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'UPLOAD_ABORTED'
  | 'UPLOAD_TOO_SLOW'
  | 'BLOB_TRUNCATED'
  | 'INDEX_LOCKED'
  | 'INDEX_UNREADABLE'
  | 'INTERNAL'
  | 'UNAVAILABLE';

export type ErrorDetails = Record<string, string | number | boolean | string[]>;

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
    this.code = code;
    this.details = details;
  }
}

export class DigestMismatchError extends RegistryError {
  constructor(readonly expected: string, readonly actual: string) {
    super('DIGEST_MISMATCH', `the uploaded bytes hash to ${actual}, but ${expected} was declared`, {
      expected,
      actual,
    });
  }
}

export class SizeMismatchError extends RegistryError {
  constructor(readonly expected: number, readonly actual: number) {
    super('SIZE_MISMATCH', `the upload is ${actual} bytes, but ${expected} bytes were declared`, {
      expected,
      actual,
    });
  }
}

export class TooLargeError extends RegistryError {
  constructor(readonly limit: number, what = 'the firmware') {
    super('TOO_LARGE', `${what} is larger than the limit of ${limit} bytes`, { limit });
  }
}

export function isRegistryError(error: unknown, code?: ErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}

/** Node's fs errors carry `code` as a string; this narrows them without `any`. */
export function isErrnoCode(error: unknown, ...codes: string[]): error is NodeJS.ErrnoException {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

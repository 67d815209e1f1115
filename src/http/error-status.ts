import type { ErrorCode } from '../errors.js';

/** The one place where error codes become HTTP status codes (SPEC §3, Errors). */
export const STATUS_OF: Record<ErrorCode, number> = {
  METADATA_INVALID: 400,
  MULTIPART_INVALID: 400,
  NAME_INVALID: 400,
  VERSION_INVALID: 400,
  LABELS_INVALID: 400,
  FIRMWARE_MISSING: 400,
  FIRMWARE_EMPTY: 400,
  QUERY_INVALID: 400,
  REQUEST_MALFORMED: 400,
  DIGEST_INVALID: 400,
  // The client went away mid-upload; nobody reads this answer, but the log does.
  UPLOAD_ABORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BLOB_UNKNOWN: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  // RFC 9110 §15.5.9: the server would not wait any longer for the rest of the request.
  UPLOAD_TOO_SLOW: 408,
  VERSION_EXISTS: 409,
  PRECONDITION_FAILED: 412,
  TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  DIGEST_MISMATCH: 422,
  SIZE_MISMATCH: 422,
  INTERNAL: 500,
  // The stored bytes are shorter than the index says: damage for fsck, not the client's fault.
  BLOB_TRUNCATED: 500,
  INDEX_LOCKED: 503,
  INDEX_UNREADABLE: 503,
  UNAVAILABLE: 503,
};

/**
 * RFC 9110 §10.2.3: a 503 says when to try again. A dependency that is away (a database
 * restarting, a store that does not answer) is usually back within seconds; clients and
 * proxies that honour the field retry then rather than at once.
 */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  UNAVAILABLE: 2,
};

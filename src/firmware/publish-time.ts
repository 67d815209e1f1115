import { RegistryError } from '../errors.js';
import { describe } from './identifiers.js';

// RFC 3339 §5.6 `date-time`: full-date "T" full-time, with a zone (Z or ±hh:mm) always given,
// so that no time is read in whatever zone the server happens to run in. "t" and "z" are
// allowed in lower case (§5.6, note). Leap seconds (:60) are not: JavaScript cannot hold them.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * The publish time a publisher declares (`created_at` in the metadata: an import keeps the
 * date a version was first published elsewhere). Strict RFC 3339 with a zone, a real calendar
 * date, not before 1970 and not later than `now`: a version cannot be published in the future,
 * and `Last-Modified` and `If-Modified-Since` compare against it. Returned as ISO-8601 UTC
 * with milliseconds, as every stored time is (finer fractions are cut to milliseconds).
 */
export function parsePublishTime(value: unknown, now: Date): string {
  const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!match) throw invalid('created_at must be an RFC 3339 time with a zone, such as "2024-05-01T12:00:00Z"', value);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [offsetHours, offsetMinutes] = [Number(match[10] ?? 0), Number(match[11] ?? 0)];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const calendar =
    local.getUTCFullYear() === year && local.getUTCMonth() === month - 1 && local.getUTCDate() === day &&
    hour < 24 && minute < 60 && second < 60 && offsetHours < 24 && offsetMinutes < 60;
  if (!calendar) throw invalid('created_at is not a real date and time', value);
  const milliseconds = Math.floor(Number(`0${match[7] ?? ''}`) * 1000);
  const sign = match[9] === '-' ? -1 : 1;
  const time = local.getTime() + milliseconds - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  if (time < 0) throw invalid('created_at must not be before 1970', value);
  if (time > now.getTime()) throw invalid(`created_at must not be later than now (${now.toISOString()} at the registry)`, value);
  return new Date(time).toISOString();
}

function invalid(message: string, value: unknown): RegistryError {
  return new RegistryError('METADATA_INVALID', message, { created_at: describe(value) });
}

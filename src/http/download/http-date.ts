/**
 * HTTP dates (RFC 9110 §5.6.7). Senders use IMF-fixdate; recipients must also accept the
 * obsolete RFC 850 and asctime forms. Anything else is not a date, and a conditional header
 * with something else in it is ignored (§13.1.3, §13.1.4).
 */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}:\d{2}:\d{2}) GMT$/;
const ASCTIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( \d|\d{2}) (\d{2}:\d{2}:\d{2}) (\d{4})$/;

/** Seconds since the epoch, or `undefined` when `text` is not an HTTP date. */
export function parseHttpDate(text: string): number | undefined {
  const value = text.trim();
  let normalized: string | undefined;
  if (IMF_FIXDATE.test(value)) {
    normalized = value;
  } else {
    const rfc850 = RFC_850.exec(value);
    const asctime = ASCTIME.exec(value);
    if (rfc850) {
      // Two-digit years (§5.6.7): one that looks more than 50 years ahead is in the past century.
      const [, , day, month, yy, time] = rfc850;
      const now = new Date().getUTCFullYear();
      let year = Math.floor(now / 100) * 100 + Number(yy);
      if (year > now + 50) year -= 100;
      normalized = `${day} ${month} ${year} ${time} GMT`;
    } else if (asctime) {
      const [, , month, day, time, year] = asctime;
      normalized = `${(day ?? '').trim()} ${month} ${year} ${time} GMT`;
    }
  }
  if (normalized === undefined) return undefined;
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** IMF-fixdate of a time, in whole seconds (the precision of Last-Modified). */
export function formatHttpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

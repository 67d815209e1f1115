/** How records are written on the page, and how typed labels are read back. */

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `2026-11-25 18:34 UTC`: one zone for everyone reading a shared link. */
export const formatTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** `sha256:8faa12…c3d4`: enough to tell builds apart at a glance; the copy button copies all of it. */
export const shortDigest = (digest: string): string => `${digest.slice(0, 13)}…${digest.slice(-4)}`;

/** SemVer §9: a hyphen before any build metadata starts a pre-release. */
export const isPrerelease = (version: string): boolean => (version.split('+')[0] ?? '').includes('-');

/** Labels as typed: one `key=value` a line; the value is everything after the first `=`. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const equals = line.indexOf('=');
    if (equals < 1) throw new Error(`"${line.trim()}" is not key=value`);
    labels[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return labels;
}

export const labelLines = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');

/** A word for a POSIX shell, quoted unless it is plainly safe. */
export const shellWord = (word: string): string => (/^[A-Za-z0-9._:/=@%^+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/**
 * A text key whose byte order (SQLite's BINARY collation) is SemVer 2.0.0 precedence (§11),
 * so the index can sort and pick "latest" without calling back into JavaScript.
 *
 * - A number becomes its digit count (3 digits) then its digits: longer numbers sort higher,
 *   equal lengths compare digit by digit. SemVer numbers have no leading zeros (§2, §9).
 * - A release sorts after all its pre-releases (§11.3): the core is followed by `1` for a
 *   release and `0` plus the identifiers for a pre-release.
 * - Pre-release identifiers (§11.4): numeric ones (`0` + number) sort below alphanumeric ones
 *   (`1` + text, compared in ASCII); they are joined by `!`, which sorts below every
 *   identifier character, so a shorter list that is a prefix of a longer one sorts first.
 * - Build metadata is ignored (§10).
 *
 * The input must already be valid SemVer (see `parseVersion`).
 */
export function precedenceKey(version: string): string {
  const withoutBuild = version.split('+', 1)[0] ?? version;
  const dash = withoutBuild.indexOf('-');
  const core = dash === -1 ? withoutBuild : withoutBuild.slice(0, dash);
  const coreKey = core.split('.').map(numberKey).join('');
  if (dash === -1) return `${coreKey}1`;
  const identifiers = withoutBuild.slice(dash + 1).split('.');
  return `${coreKey}0${identifiers.map(identifierKey).join('!')}`;
}

function numberKey(digits: string): string {
  return `${digits.length.toString().padStart(3, '0')}${digits}`;
}

function identifierKey(identifier: string): string {
  return /^[0-9]+$/.test(identifier) ? `0${numberKey(identifier)}` : `1${identifier}`;
}

/** A pre-release has a `-` before any build metadata (SemVer 2.0.0 §9). */
export function isPrerelease(version: string): boolean {
  return (version.split('+', 1)[0] ?? '').includes('-');
}

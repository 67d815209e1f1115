import { RegistryError } from '../errors.js';

/**
 * Names and versions become path segments (`registry/<name>/<version>/firmware.bin`), so
 * nothing reaches the file system that has not passed these checks (SPEC §1).
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

// SemVer 2.0.0, the regular expression published with the specification (semver.org, FAQ).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const MAX_VERSION_LENGTH = 128;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !isValidName(name)) {
    throw new RegistryError(
      'NAME_INVALID',
      'a name is 1-128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
      { name: describe(name) },
    );
  }
  return name;
}

export function isValidVersion(version: string): boolean {
  if (version.length > MAX_VERSION_LENGTH) return false;
  const match = SEMVER.exec(version);
  // Major, minor and patch must stay exact as JavaScript numbers, or range queries would lie.
  return match !== null && match.slice(1, 4).every((part) => Number.isSafeInteger(Number(part)));
}

export function checkVersion(version: unknown): string {
  if (typeof version !== 'string' || !isValidVersion(version)) {
    throw new RegistryError(
      'VERSION_INVALID',
      `a version is a SemVer 2.0.0 string such as "1.2.3" or "2.0.0-rc.1+build.5", without a "v", at most ${MAX_VERSION_LENGTH} characters`,
      { version: describe(version) },
    );
  }
  return version;
}

/** A short, safe rendering of a rejected value for error details. */
export function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 140 ? `${text.slice(0, 137)}...` : text;
}

import test from 'ava';
import semver from 'semver';
import { precedenceKey } from '../../src/index/precedence.js';

// SemVer 2.0.0 §11.4's own example, in ascending order, with build metadata and wide numbers.
const ASCENDING = [
  '0.0.0',
  '0.0.1',
  '0.9.0',
  '0.10.0',
  '1.0.0-0',
  '1.0.0-1',
  '1.0.0-2',
  '1.0.0-10',
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-alpha-x',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '1.0.1',
  '1.2.0',
  '1.10.0',
  '2.0.0-beta.1',
  '2.0.0-rc.1',
  '2.0.0',
  '10.0.0',
  '9007199254740991.0.0',
];

test('precedence: keys sort like SemVer 2.0.0 §11', (t) => {
  const shuffled = [...ASCENDING].reverse();
  const byKey = shuffled.sort((a, b) => compareText(precedenceKey(a), precedenceKey(b)));
  t.deepEqual(byKey, ASCENDING);
});

test('precedence: build metadata does not change the key (§10)', (t) => {
  t.is(precedenceKey('1.0.0+build.1'), precedenceKey('1.0.0'));
  t.is(precedenceKey('1.0.0-rc.1+sha.5114f85'), precedenceKey('1.0.0-rc.1'));
});

test('precedence: agrees with semver.compare on many generated versions', (t) => {
  const parts = ['0', '1', '2', '9', '10', '11', '99', '100'];
  const pre = ['', '-0', '-1', '-10', '-a', '-a.1', '-a.b', '-a-b', '-A', '-rc.1', '-rc.10', '-rc.1.1', '-z9', '-9z'];
  const versions: string[] = [];
  for (const major of parts.slice(0, 4)) {
    for (const minor of parts) for (const suffix of pre) versions.push(`${major}.${minor}.0${suffix}`);
  }
  for (const a of versions) {
    for (const b of versions) {
      const expected = Math.sign(semver.compare(a, b));
      const actual = Math.sign(compareText(precedenceKey(a), precedenceKey(b)));
      if (expected !== actual) return t.fail(`${a} vs ${b}: semver says ${expected}, key says ${actual}`);
    }
  }
  t.pass();
});

/** SQLite's BINARY collation: byte order, which is code-unit order for ASCII. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

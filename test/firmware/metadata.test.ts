import test from 'ava';
import { isRegistryError, type ErrorCode } from '../../src/errors.js';
import { checkName, checkVersion, isValidName, isValidVersion } from '../../src/firmware/identifiers.js';
import { checkLabels } from '../../src/firmware/labels.js';
import { parseMetadata } from '../../src/firmware/metadata.js';

const HEX = 'a'.repeat(64);

test('names: letters, digits, dot, underscore and dash, starting with a letter or digit, 1-128', (t) => {
  for (const name of ['base', 'B', '0', 'esp32-c3_sensor.v2', 'a'.repeat(128)]) t.true(isValidName(name), name);
  for (const name of ['', '.', '..', '.hidden', '-x', '_x', 'a/b', 'a\\b', 'a b', 'a\u0000', 'ä', 'a'.repeat(129), 'a%2e']) {
    t.false(isValidName(name), JSON.stringify(name));
  }
  t.true(isRegistryError(t.throws(() => checkName(42)), 'NAME_INVALID'));
});

test('versions: SemVer 2.0.0 exactly as written, at most 128 characters', (t) => {
  for (const version of ['0.0.0', '1.2.3', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0-x-y-z.--', '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85']) {
    t.true(isValidVersion(version), version);
  }
  for (const version of ['1', '1.0', 'v1.0.0', '=1.0.0', ' 1.0.0', '1.0.0 ', '01.0.0', '1.0.0-01', '1.0.0-', '1.0.0+', '1.0.0-a..b', '../1.0.0', '1.0.0/x', `1.0.0-${'a'.repeat(123)}`, '99999999999999999.0.0']) {
    t.false(isValidVersion(version), version);
  }
  t.true(isValidVersion(`1.0.0-${'a'.repeat(122)}`), '128 characters');
  t.true(isRegistryError(t.throws(() => checkVersion(null)), 'VERSION_INVALID'));
});

test('labels: an object of string to string, keys sorted; undefined is {}', (t) => {
  t.deepEqual(checkLabels(undefined), {});
  t.deepEqual(Object.keys(checkLabels({ z: '1', a: '2', 'hw/rev': '' })), ['a', 'hw/rev', 'z']);
  const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  for (const labels of [null, [], 'app=base', { app: 1 }, { app: null }, { '': 'x' }, { '-x': 'y' }, { ['k'.repeat(64)]: 'v' }, { app: 'v'.repeat(257) }, tooMany]) {
    const error = t.throws(() => checkLabels(labels));
    t.true(isRegistryError(error, 'LABELS_INVALID'), JSON.stringify(labels).slice(0, 40));
  }
  t.notThrows(() => checkLabels(Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(256)]))));
});

test('metadata: the seed shape parses; sha256 and size are optional', (t) => {
  t.deepEqual(parseMetadata('{"name":"base","version":"1.0.0","labels":{"app":"base"}}'), {
    name: 'base',
    version: '1.0.0',
    labels: { app: 'base' },
  });
  t.deepEqual(parseMetadata(`{"name":"base","version":"1.0.0","sha256":"${HEX.toUpperCase()}","size":10}`), {
    name: 'base',
    version: '1.0.0',
    labels: {},
    digest: `sha256:${HEX}`,
    size: 10,
  });
  t.is<string | undefined, string>(parseMetadata(`{"name":"base","version":"1.0.0","sha256":"sha256:${HEX}"}`).digest, `sha256:${HEX}`);
});

test('metadata: each kind of wrong input has its own code', (t) => {
  const cases: [string, ErrorCode][] = [
    ['', 'METADATA_INVALID'],
    ['{', 'METADATA_INVALID'],
    ['null', 'METADATA_INVALID'],
    ['"base"', 'METADATA_INVALID'],
    ['{"name":"base","version":"1.0.0","extra":1}', 'METADATA_INVALID'],
    ['{"name":"base","version":"1.0.0","size":-1}', 'METADATA_INVALID'],
    ['{"name":"base","version":"1.0.0","size":1.5}', 'METADATA_INVALID'],
    ['{"version":"1.0.0"}', 'NAME_INVALID'],
    ['{"name":"base"}', 'VERSION_INVALID'],
    ['{"name":"base","version":"1.0.0","labels":"x"}', 'LABELS_INVALID'],
    ['{"name":"base","version":"1.0.0","sha256":"md5:abc"}', 'DIGEST_INVALID'],
    ['{"name":"base","version":"1.0.0","sha256":42}', 'DIGEST_INVALID'],
  ];
  for (const [text, code] of cases) {
    const error = t.throws(() => parseMetadata(text));
    t.true(isRegistryError(error, code), `${text} → ${(error as { code?: string }).code}, expected ${code}`);
  }
});

test('metadata: created_at is strict RFC 3339 with a zone, kept as UTC milliseconds, never in the future', (t) => {
  const now = new Date('2026-12-01T10:00:00.000Z');
  const parse = (createdAt: unknown) => parseMetadata(JSON.stringify({ name: 'base', version: '1.0.0', created_at: createdAt }), now).createdAt;
  t.is(parse('2024-05-01T12:00:00Z'), '2024-05-01T12:00:00.000Z');
  t.is(parse('2024-05-01t12:00:00.123456z'), '2024-05-01T12:00:00.123Z');
  t.is(parse('2024-05-01T14:30:00+02:30'), '2024-05-01T12:00:00.000Z');
  t.is(parse('2024-02-29T23:00:00-01:00'), '2024-03-01T00:00:00.000Z');
  t.is(parse('2026-12-01T10:00:00Z'), '2026-12-01T10:00:00.000Z', 'now itself');
  t.is(parseMetadata('{"name":"base","version":"1.0.0"}', now).createdAt, undefined);
  const refused = [
    '2024-05-01 12:00:00', // no zone: which one?
    '2024-05-01T12:00:00',
    '2024-05-01',
    '2024-5-1T12:00:00Z',
    '2023-02-29T12:00:00Z',
    '2024-04-31T12:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T12:60:00Z',
    '2024-05-01T12:00:60Z',
    '2024-05-01T12:00:00+24:00',
    '2024-05-01T12:00:00.Z',
    '1969-12-31T23:59:59Z',
    '2026-12-01T10:00:00.001Z',
    '2030-01-01T00:00:00Z',
    ' 2024-05-01T12:00:00Z',
    1714564800,
    null,
  ];
  for (const value of refused) {
    const error = t.throws(() => parse(value), undefined, JSON.stringify(value));
    t.true(isRegistryError(error, 'METADATA_INVALID'), `${JSON.stringify(value)} → ${(error as { code?: string }).code}`);
  }
});

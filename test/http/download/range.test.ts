import test from 'ava';
import { MAX_RANGES, parseRange } from '../../../src/http/download/range.js';

const SIZE = 10_000;
const ranges = (...pairs: [number, number][]) => pairs.map(([start, end]) => ({ start, end }));

test('range: absent, other units and bad syntax are ignored (RFC 9110 §14.2)', (t) => {
  t.deepEqual(parseRange(undefined, SIZE), { kind: 'none', reason: 'absent' });
  t.deepEqual(parseRange('items=0-5', SIZE), { kind: 'none', reason: 'unit' });
  t.deepEqual(parseRange('pages=1', SIZE), { kind: 'none', reason: 'unit' });
  for (const bad of ['bytes', 'bytes=', 'bytes=,', 'bytes= , ', 'bytes=abc', 'bytes=1-2-3', 'bytes=-', 'bytes=+1-2', 'bytes=1 - 2', 'bytes=0x10-20', 'bytes=1.5-2', 'bytes=-5-']) {
    t.deepEqual(parseRange(bad, SIZE), { kind: 'none', reason: 'syntax' }, bad);
  }
});

test('range: the unit is case-insensitive', (t) => {
  for (const unit of ['bytes', 'BYTES', 'Bytes']) t.deepEqual(parseRange(`${unit}=0-0`, SIZE), { kind: 'ranges', ranges: ranges([0, 0]) });
});

test('range: single ranges of each form (§14.1.2)', (t) => {
  const single = (value: string) => parseRange(value, SIZE);
  t.deepEqual(single('bytes=0-0'), { kind: 'ranges', ranges: ranges([0, 0]) });
  t.deepEqual(single('bytes=500-1499'), { kind: 'ranges', ranges: ranges([500, 1499]) });
  t.deepEqual(single('bytes=500-'), { kind: 'ranges', ranges: ranges([500, 9999]) });
  t.deepEqual(single('bytes=-500'), { kind: 'ranges', ranges: ranges([9500, 9999]) });
  t.deepEqual(single('bytes= 0-0 '), { kind: 'ranges', ranges: ranges([0, 0]) });
});

test('range: a last position at or past the end is clamped', (t) => {
  t.deepEqual(parseRange('bytes=9000-10000', SIZE), { kind: 'ranges', ranges: ranges([9000, 9999]) });
  t.deepEqual(parseRange('bytes=-20000', SIZE), { kind: 'ranges', ranges: ranges([0, 9999]) });
  t.deepEqual(parseRange('bytes=9999-9999', SIZE), { kind: 'ranges', ranges: ranges([9999, 9999]) });
});

test('range: unsatisfiable — first position at or past the end, -0, last before first', (t) => {
  for (const value of ['bytes=10000-', 'bytes=10000-10005', 'bytes=-0', 'bytes=500-100', 'bytes=10000-,20000-', 'bytes=0-5,500-100']) {
    t.deepEqual(parseRange(value, SIZE), { kind: 'unsatisfiable' }, value);
  }
  t.deepEqual(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' }, 'nothing of an empty representation');
  t.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
});

test('range: huge numbers parse without overflow', (t) => {
  const huge = '9'.repeat(40);
  t.deepEqual(parseRange(`bytes=0-${huge}`, SIZE), { kind: 'ranges', ranges: ranges([0, 9999]) });
  t.deepEqual(parseRange(`bytes=${huge}-`, SIZE), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange(`bytes=-${huge}`, SIZE), { kind: 'ranges', ranges: ranges([0, 9999]) });
  t.deepEqual(parseRange('bytes=9007199254740993-9007199254740993', 2 ** 53 + 10), { kind: 'unsatisfiable' }, 'beyond 2^53 is past anything stored');
  t.deepEqual(parseRange(`bytes=000000000000000000000005-6`, SIZE), { kind: 'ranges', ranges: ranges([5, 6]) }, 'leading zeros');
});

test('range: several ranges keep their order; unsatisfiable ones are dropped; overlaps merge', (t) => {
  t.deepEqual(parseRange('bytes=500-599,0-99', SIZE), { kind: 'ranges', ranges: ranges([500, 599], [0, 99]) });
  t.deepEqual(parseRange('bytes=0-99,20000-30000,-100', SIZE), { kind: 'ranges', ranges: ranges([0, 99], [9900, 9999]) });
  t.deepEqual(parseRange('bytes=0-99,50-149,300-399', SIZE), { kind: 'ranges', ranges: ranges([0, 149], [300, 399]) });
  t.deepEqual(parseRange('bytes=300-399,0-99,50-350', SIZE), { kind: 'ranges', ranges: ranges([0, 399]) });
  t.deepEqual(parseRange('bytes=0-99,100-199', SIZE), { kind: 'ranges', ranges: ranges([0, 99], [100, 199]) }, 'adjacent ranges stay apart');
  t.deepEqual(parseRange('bytes=0-0,0-0', SIZE), { kind: 'ranges', ranges: ranges([0, 0]) }, 'asked for several, one left: the plan answers a plain 206');
});

test(`range: up to ${MAX_RANGES} ranges are served; more are ignored`, (t) => {
  const list = (count: number) => `bytes=${Array.from({ length: count }, (_, i) => `${i * 10}-${i * 10 + 4}`).join(',')}`;
  const served = parseRange(list(MAX_RANGES), SIZE);
  t.is(served.kind === 'ranges' ? served.ranges.length : 0, MAX_RANGES);
  t.deepEqual(parseRange(list(MAX_RANGES + 1), SIZE), { kind: 'none', reason: 'too-many' });
});

import test from 'ava';
import { parseDigest } from '../../../src/digest.js';
import { byteRangesBody } from '../../../src/http/download/byteranges.js';
import { listMatches, parseEntityTag, parseEntityTagList, strongMatch, weakMatch } from '../../../src/http/download/entity-tag.js';
import { formatHttpDate, parseHttpDate } from '../../../src/http/download/http-date.js';
import { attachment, blobRepresentation, etagOf, reprDigest, versionRepresentation } from '../../../src/http/download/representation.js';

// SHA-256 of "hello": a known vector.
const HELLO = parseDigest('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');

test('entity tags: strong and weak forms parse; anything unquoted does not (RFC 9110 §8.8.3)', (t) => {
  t.deepEqual(parseEntityTag('"abc"'), { weak: false, opaque: '"abc"' });
  t.deepEqual(parseEntityTag(' W/"abc" '), { weak: true, opaque: '"abc"' });
  t.deepEqual(parseEntityTag('""'), { weak: false, opaque: '""' });
  for (const bad of ['abc', '"abc', 'abc"', 'w/"abc"', 'W/ "abc"', '"a"b"', '"a b"']) t.is(parseEntityTag(bad), undefined, bad);
});

test('entity tags: lists with spaces and empty elements, and *', (t) => {
  t.deepEqual(parseEntityTagList(' "a" ,W/"b",, "c"'), [
    { weak: false, opaque: '"a"' },
    { weak: true, opaque: '"b"' },
    { weak: false, opaque: '"c"' },
  ]);
  t.is(parseEntityTagList(' * '), '*');
  t.is(parseEntityTagList('"a", nonsense'), undefined);
  t.is(parseEntityTagList(''), undefined);
  t.is(parseEntityTagList(', ,'), undefined);
});

test('entity tags: strong comparison needs both strong; weak comparison ignores W/ (§8.8.3.2)', (t) => {
  const strong = { weak: false, opaque: '"1"' };
  const weak = { weak: true, opaque: '"1"' };
  const other = { weak: false, opaque: '"2"' };
  t.true(strongMatch(strong, strong));
  t.false(strongMatch(weak, strong));
  t.false(strongMatch(strong, weak));
  t.false(strongMatch(weak, weak));
  t.true(weakMatch(weak, strong));
  t.true(weakMatch(weak, weak));
  t.false(weakMatch(other, strong));
  t.true(listMatches('*', strong, strongMatch));
  t.true(listMatches([other, weak], strong, weakMatch));
  t.false(listMatches([other, weak], strong, strongMatch));
  t.false(listMatches(undefined, strong, weakMatch));
});

test('HTTP dates: the three formats of RFC 9110 §5.6.7, and nothing else', (t) => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  t.is(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), expected);
  t.is(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), expected);
  t.is(parseHttpDate('Sun Nov  6 08:49:37 1994'), expected);
  for (const bad of ['', 'yesterday', '1994-11-06T08:49:37Z', 'Sun, 06 Nov 1994 08:49:37 PST', 'Sun, 6 Nov 1994 08:49:37 GMT', '784111777']) {
    t.is(parseHttpDate(bad), undefined, bad);
  }
  t.is(formatHttpDate(expected), 'Sun, 06 Nov 1994 08:49:37 GMT');
});

test('representation: ETag, Repr-Digest and the headers of a version URL', (t) => {
  t.is(etagOf(HELLO), '"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"');
  t.is(reprDigest(HELLO), 'sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:');
  t.is(attachment('base-1.0.0+build.1.bin'), 'attachment; filename="base-1.0.0+build.1.bin"');
  const version = versionRepresentation({ name: 'base', version: '1.0.0', digest: HELLO, size: 5, createdAt: '2026-11-25T18:34:26.999Z' });
  t.deepEqual(version.full, {
    ETag: etagOf(HELLO),
    'Last-Modified': 'Wed, 25 Nov 2026 18:34:26 GMT',
    'Cache-Control': 'no-cache',
    'Accept-Ranges': 'bytes',
    'Repr-Digest': reprDigest(HELLO),
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': 'attachment; filename="base-1.0.0.bin"',
    'Content-Length': '5',
    'Content-Digest': reprDigest(HELLO),
  });
  t.is(version.validators.lastModified, Date.UTC(2026, 10, 25, 18, 34, 26) / 1000, 'whole seconds, rounded down');
});

test('representation: a digest URL is immutable and has no filename', (t) => {
  const blob = blobRepresentation({ digest: HELLO, size: 5, since: '2026-11-25T18:34:26.000Z' });
  t.is(blob.common['Cache-Control'], 'public, max-age=31536000, immutable');
  t.is(blob.full['Content-Disposition'], undefined);
});

test('byteranges: exact framing and length, unquoted lower-case boundary (RFC 9110 §14.6)', (t) => {
  const body = byteRangesBody(
    [
      { start: 0, end: 0 },
      { start: 5, end: 9 },
    ],
    10,
    'application/octet-stream',
    'abc123',
  );
  t.is(body.contentType, 'multipart/byteranges; boundary=abc123');
  const parts = body.parts.map((part) => part.head.toString());
  t.deepEqual(parts, [
    '\r\n--abc123\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-0/10\r\n\r\n',
    '\r\n--abc123\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-9/10\r\n\r\n',
  ]);
  t.is(body.tail.toString(), '\r\n--abc123--\r\n');
  t.is(body.contentLength, parts.join('').length + 1 + 5 + body.tail.length);
  t.regex(byteRangesBody([{ start: 0, end: 0 }], 1, 'x').contentType, /^multipart\/byteranges; boundary=[0-9a-f]{24}$/);
});

import test from 'ava';
import { parseDigest } from '../../src/cas/digest.js';
import { attachment, digestField, etagOf, httpDate } from '../../src/http/download-headers.js';

// SHA-256 of "hello": a known vector.
const HELLO = parseDigest('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');

test('etagOf: a strong, quoted entity tag (RFC 9110 §8.8.3)', (t) => {
  t.is(etagOf(HELLO), '"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"');
});

test('digestField: sha-256 as a Structured Fields byte sequence (RFC 9530 §2)', (t) => {
  t.is(digestField(HELLO), 'sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:');
});

test('httpDate: IMF-fixdate in GMT (RFC 9110 §5.6.7)', (t) => {
  t.is(httpDate('2026-11-25T18:34:26.499Z'), 'Wed, 25 Nov 2026 18:34:26 GMT');
});

test('attachment: a quoted filename (RFC 6266 §4)', (t) => {
  t.is(attachment('base-1.0.0+build.1.bin'), 'attachment; filename="base-1.0.0+build.1.bin"');
});

import test from 'ava';
import { parseDigest } from '../../../src/digest.js';
import { evaluateConditionals, rangeApplies } from '../../../src/http/download/conditionals.js';
import { planDownload, type DownloadRequest } from '../../../src/http/download/plan.js';
import { versionRepresentation } from '../../../src/http/download/representation.js';

const DIGEST = parseDigest('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
const ETAG = `"${DIGEST}"`;
const REP = versionRepresentation({ name: 'base', version: '1.0.0', digest: DIGEST, size: 10_000, createdAt: '2026-11-25T12:00:00.500Z' });
const MODIFIED = 'Wed, 25 Nov 2026 12:00:00 GMT';
const BEFORE = 'Wed, 25 Nov 2026 11:59:59 GMT';
const AFTER = 'Wed, 25 Nov 2026 12:00:01 GMT';
const V = REP.validators;

const plan = (request: Partial<DownloadRequest>) => planDownload({ method: 'GET', ...request }, REP);

test('conditionals: If-None-Match compares weakly, takes lists and * (RFC 9110 §13.1.2)', (t) => {
  for (const header of [ETAG, `W/${ETAG}`, `"other", ${ETAG}`, ` "x" ,  ${ETAG} `, '*']) {
    t.is(evaluateConditionals({ ifNoneMatch: header }, V), 'not-modified', header);
  }
  for (const header of ['"other"', 'W/"other"', 'garbage', '']) t.is(evaluateConditionals({ ifNoneMatch: header }, V), 'proceed', header);
});

test('conditionals: If-Match compares strongly (§13.1.1)', (t) => {
  t.is(evaluateConditionals({ ifMatch: ETAG }, V), 'proceed');
  t.is(evaluateConditionals({ ifMatch: `"a", ${ETAG}` }, V), 'proceed');
  t.is(evaluateConditionals({ ifMatch: '*' }, V), 'proceed');
  t.is(evaluateConditionals({ ifMatch: `W/${ETAG}` }, V), 'precondition-failed', 'a weak tag never matches strongly');
  t.is(evaluateConditionals({ ifMatch: '"other"' }, V), 'precondition-failed');
  t.is(evaluateConditionals({ ifMatch: 'garbage' }, V), 'precondition-failed');
});

test('conditionals: If-Modified-Since at or after Last-Modified is 304; dates that do not parse are ignored (§13.1.3)', (t) => {
  t.is(evaluateConditionals({ ifModifiedSince: MODIFIED }, V), 'not-modified');
  t.is(evaluateConditionals({ ifModifiedSince: AFTER }, V), 'not-modified');
  t.is(evaluateConditionals({ ifModifiedSince: BEFORE }, V), 'proceed');
  t.is(evaluateConditionals({ ifModifiedSince: 'last tuesday' }, V), 'proceed');
});

test('conditionals: If-None-Match present makes If-Modified-Since ignored (§13.1.3)', (t) => {
  t.is(evaluateConditionals({ ifNoneMatch: '"other"', ifModifiedSince: AFTER }, V), 'proceed');
  t.is(evaluateConditionals({ ifNoneMatch: 'garbage', ifModifiedSince: AFTER }, V), 'proceed');
});

test('conditionals: If-Unmodified-Since before Last-Modified is 412, unless If-Match is present (§13.1.4, §13.2.2)', (t) => {
  t.is(evaluateConditionals({ ifUnmodifiedSince: BEFORE }, V), 'precondition-failed');
  t.is(evaluateConditionals({ ifUnmodifiedSince: MODIFIED }, V), 'proceed');
  t.is(evaluateConditionals({ ifUnmodifiedSince: 'not a date' }, V), 'proceed');
  t.is(evaluateConditionals({ ifMatch: ETAG, ifUnmodifiedSince: BEFORE }, V), 'proceed');
});

test('conditionals: 412 from If-Match wins over 304 from If-None-Match (§13.2.2 order)', (t) => {
  t.is(evaluateConditionals({ ifMatch: '"other"', ifNoneMatch: ETAG }, V), 'precondition-failed');
});

test('If-Range: the strong ETag or exactly Last-Modified lets the Range apply (§13.1.5)', (t) => {
  t.true(rangeApplies(undefined, V));
  t.true(rangeApplies(ETAG, V));
  t.true(rangeApplies(MODIFIED, V));
  t.false(rangeApplies(`W/${ETAG}`, V));
  t.false(rangeApplies('"other"', V));
  t.false(rangeApplies(AFTER, V), 'a later date is not an exact match');
  t.false(rangeApplies('garbage', V));
});

test('plan: GET is 200 with the whole body; HEAD the same headers without one', (t) => {
  t.deepEqual(plan({}), { status: 200, headers: REP.full, body: true });
  t.deepEqual(plan({ method: 'HEAD' }), { status: 200, headers: REP.full, body: false });
});

test('plan: HEAD ignores Range but not conditionals', (t) => {
  t.deepEqual(plan({ method: 'HEAD', range: 'bytes=0-0' }), { status: 200, headers: REP.full, body: false });
  t.is(plan({ method: 'HEAD', ifNoneMatch: ETAG }).status, 304);
});

test('plan: 304 carries the validators and caching headers, no Content-* fields', (t) => {
  const answer = plan({ ifNoneMatch: ETAG, range: 'bytes=0-0' });
  t.is(answer.status, 304, 'If-None-Match beats Range');
  if (answer.status !== 304) return;
  t.deepEqual(Object.keys(answer.headers).sort(), ['Accept-Ranges', 'Cache-Control', 'ETag', 'Last-Modified', 'Repr-Digest']);
});

test('plan: 206 with an exact Content-Range and Content-Length, and no Content-Digest', (t) => {
  const answer = plan({ range: 'bytes=9000-10000' });
  if (answer.status !== 206 || !('range' in answer)) return t.fail('not a single range');
  t.deepEqual(answer.range, { start: 9000, end: 9999 });
  t.like(answer.headers, { 'Content-Range': 'bytes 9000-9999/10000', 'Content-Length': '1000', ETag: ETAG, 'Content-Type': 'application/octet-stream' });
  t.is(answer.headers['Content-Digest'], undefined);
});

test('plan: several ranges become multipart/byteranges with an exact length', (t) => {
  const answer = plan({ range: 'bytes=0-9,100-199' });
  if (answer.status !== 206 || !('multipart' in answer)) return t.fail('not multipart');
  t.regex(answer.headers['Content-Type'] ?? '', /^multipart\/byteranges; boundary=[0-9a-f]+$/);
  t.is(answer.headers['Content-Length'], String(answer.multipart.contentLength));
  t.is(answer.headers['Content-Range'], undefined);
});

test('plan: several ranges that leave one part are a plain 206 with Content-Range', (t) => {
  const answer = plan({ range: 'bytes=0-1,20000-' });
  if (answer.status !== 206 || !('range' in answer)) return t.fail('not a single range');
  t.deepEqual(answer.range, { start: 0, end: 1 });
  t.like(answer.headers, { 'Content-Range': 'bytes 0-1/10000', 'Content-Length': '2', 'Content-Type': 'application/octet-stream' });
});

test('plan: 416 names the size; unsatisfiable forms', (t) => {
  for (const range of ['bytes=10000-', 'bytes=-0', 'bytes=500-100']) {
    t.deepEqual(plan({ range }), { status: 416, headers: { 'Content-Range': 'bytes */10000' } }, range);
  }
});

test('plan: a Range that must be ignored gives the whole body', (t) => {
  for (const range of ['bytes=nonsense', 'lines=1-2', 'bytes=', `bytes=${Array.from({ length: 201 }, (_, i) => `${i}-${i}`).join(',')}`]) {
    t.is(plan({ range }).status, 200, range.slice(0, 30));
  }
});

test('plan: If-Range that does not match ignores the Range; one that matches honours it', (t) => {
  t.is(plan({ range: 'bytes=0-0', ifRange: '"old"' }).status, 200);
  t.is(plan({ range: 'bytes=0-0', ifRange: `W/${ETAG}` }).status, 200);
  t.is(plan({ range: 'bytes=0-0', ifRange: ETAG }).status, 206);
  t.is(plan({ range: 'bytes=0-0', ifRange: MODIFIED }).status, 206);
  t.is(plan({ range: 'bytes=0-0', ifRange: BEFORE }).status, 200);
  t.is(plan({ range: 'bytes=99999-', ifRange: '"old"' }).status, 200, 'If-Range false beats an unsatisfiable range');
});

test('plan: 412 when If-Match fails or If-Unmodified-Since is before the publish time', (t) => {
  t.deepEqual(plan({ ifMatch: '"other"' }), { status: 412 });
  t.deepEqual(plan({ ifUnmodifiedSince: BEFORE, range: 'bytes=0-0' }), { status: 412 });
});

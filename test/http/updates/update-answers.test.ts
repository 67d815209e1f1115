import test from 'ava';
import { noneMatch, updateAnswer } from '../../../src/http/updates/update-answer.js';
import { rememberedAnswer, UpdateAnswers } from '../../../src/http/updates/update-answers.js';
import { parseDigest } from '../../../src/digest.js';

const record = { name: 'base', version: '1.2.0', size: 10, digest: parseDigest(`sha256:${'a'.repeat(64)}`), labels: { channel: 'stable' }, createdAt: '2026-12-01T00:00:00.000Z' };
const remembered = rememberedAnswer(updateAnswer(record, ''), []);

test('update answers: an answer is kept until the change count moves, then gone', (t) => {
  let changes = 4;
  const answers = new UpdateAnswers(() => changes);
  answers.remember('/updates/base?current=1.0.0', remembered, 4);
  t.is(answers.forUrl('/updates/base?current=1.0.0'), answers.forUrl('/updates/base?current=1.0.0'));
  t.is(answers.forUrl('/updates/base?current=1.0.0')?.answer, remembered.answer);
  t.is(answers.forUrl('/updates/base?current=1.0.1'), undefined);
  changes = 5;
  t.is(answers.forUrl('/updates/base?current=1.0.0'), undefined);
  t.is(answers.size, 0);
});

test('update answers: one computed while a change landed is never kept', (t) => {
  const answers = new UpdateAnswers(() => 7);
  answers.remember('/updates/base?current=1.0.0', remembered, 6);
  t.is(answers.forUrl('/updates/base?current=1.0.0'), undefined);
});

test('update answers: at most 10,000 URLs, the oldest dropped first', (t) => {
  const answers = new UpdateAnswers(() => 1);
  for (let i = 0; i <= 10_000; i++) answers.remember(`/updates/base?current=1.0.${i}`, remembered, 1);
  t.is(answers.size, 10_000);
  t.is(answers.forUrl('/updates/base?current=1.0.0'), undefined);
  t.truthy(answers.forUrl('/updates/base?current=1.0.10000'));
});

test('update answer: the body, its length and its ETag agree; 204 has no ETag', (t) => {
  const answer = updateAnswer(record, 'https://fw.example.com');
  if (answer.status !== 200) return t.fail();
  t.is(JSON.parse(answer.body.toString()).url, 'https://fw.example.com/firmware/base/1.2.0');
  t.is(answer.headers['Content-Length'], String(answer.body.length));
  t.is(answer.headers.ETag, answer.etag);
  t.not(answer.etag, (updateAnswer({ ...record, labels: {} }, 'https://fw.example.com') as { etag: string }).etag);
  t.deepEqual(updateAnswer(undefined, ''), { status: 204, headers: { 'Cache-Control': 'no-cache' } });
});

test('update answer: If-None-Match by weak comparison, * included; malformed lists match nothing', (t) => {
  t.true(noneMatch('"abc"', '"abc"'));
  t.true(noneMatch('W/"abc"', '"abc"'));
  t.true(noneMatch(' "x" , "abc"', '"abc"'));
  t.true(noneMatch('*', '"abc"'));
  t.false(noneMatch('"abcd"', '"abc"'));
  t.false(noneMatch('"abc", nonsense', '"abc"'));
  t.false(noneMatch('', '"abc"'));
  t.false(noneMatch(undefined, '"abc"'));
});

import test from 'ava';
import { RequestIds } from '../../src/http/request-id.js';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are RFC 9562 version 8 UUIDs, each new, and another process draws another prefix', (t) => {
  const ids = new RequestIds();
  const made = Array.from({ length: 1000 }, () => ids.next());
  for (const id of made) t.regex(id, UUID_V8);
  t.is(new Set(made).size, made.length);
  const others = Array.from({ length: 20 }, () => new RequestIds().next().slice(0, 24));
  t.is(new Set(others).size, others.length, '74 random bits apart');
});

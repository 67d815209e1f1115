import test from 'ava';
import { indexFilter } from '../../src/registry/version-query.js';

test('index filter: label filters go to the index once each, in the order given', (t) => {
  const filter = indexFilter({ labels: [['channel', 'stable'], ['hw', 'esp32'], ['channel', 'stable']], prerelease: true });
  t.deepEqual(filter.labels, [['channel', 'stable'], ['hw', 'esp32']]);
});

test('index filter: one key asked with two values cannot match; only those two go to the index', (t) => {
  const labels = Array.from({ length: 60 }, (_, i): [string, string] => [`k${i}`, 'v']);
  const filter = indexFilter({ name: 'base', labels: [...labels, ['channel', 'stable'], ['channel', 'beta']], prerelease: false });
  t.deepEqual(filter.labels, [['channel', 'stable'], ['channel', 'beta']]);
  t.like(filter, { name: 'base', releasesOnly: true });
});

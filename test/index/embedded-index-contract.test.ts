import path from 'node:path';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { indexContract } from './index-contract.js';

indexContract('EmbeddedIndex', async (t) => {
  const index = await EmbeddedIndex.open(path.join(await tempDir(t), 'registry.db'));
  t.teardown(() => index.close());
  return index;
});

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { BlobStore } from '../../cas/blob-store.js';
import { RegistryError } from '../../errors.js';
import type { ListFilter } from '../../index/firmware-index.js';
import type { Registry } from '../../registry.js';
import { receiveUpload, type Upload } from '../receive-upload.js';
import { publishJson, recordJson } from '../record-json.js';
import { requireWriteToken } from '../write-auth.js';

export interface FirmwareRouteDeps {
  registry: Registry;
  store: BlobStore;
  maxUploadBytes: number;
  tokens: readonly string[];
}

/** The seed's routes (SPEC §3): publish and list (downloads are in downloads.ts). */
export function firmwareRoutes(router: Router, { registry, store, maxUploadBytes, tokens }: FirmwareRouteDeps): void {
  router.post('/firmware', requireWriteToken(tokens), receiveUpload(store, maxUploadBytes), async (ctx) => {
    const { metadata, staged } = ctx.state.upload as Upload;
    if (!staged && !metadata.digest) {
      throw new RegistryError('FIRMWARE_MISSING', 'the "firmware" file part is missing (curl: -F firmware=@firmware.bin)');
    }
    const result = staged ? await registry.publish(metadata, staged) : await registry.publishStored(metadata);
    ctx.status = result.created ? 201 : 200;
    ctx.body = publishJson(result);
  });

  router.get('/firmware', (ctx) => {
    ctx.body = registry.list(listFilter(ctx)).map(recordJson);
  });
}

/** `name` and `version` match exactly; a value that cannot be a name or version matches nothing. */
function listFilter(ctx: Context): ListFilter {
  const filter: ListFilter = {};
  for (const key of ['name', 'version'] as const) {
    const value = ctx.query[key];
    if (Array.isArray(value)) {
      throw new RegistryError('QUERY_INVALID', `give "${key}" at most once`, { parameter: key });
    }
    if (value !== undefined) filter[key] = value;
  }
  return filter;
}

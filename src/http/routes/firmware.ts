import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { BlobStore } from '../../cas/blob-store.js';
import { RegistryError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import { receiveUpload, type Upload } from '../receive-upload.js';
import { parseVersionQuery } from '../query-params.js';
import { publishJson, recordJson } from '../record-json.js';

export interface FirmwareRouteDeps {
  registry: Registry;
  store: BlobStore;
  maxUploadBytes: number;
  requireToken: Middleware;
}

/** The seed's routes (SPEC §3): publish and list (downloads are in downloads.ts). */
export function firmwareRoutes(router: Router, { registry, store, maxUploadBytes, requireToken }: FirmwareRouteDeps): void {
  router.post('/firmware', requireToken, receiveUpload(store, maxUploadBytes), async (ctx) => {
    const { metadata, staged } = ctx.state.upload as Upload;
    if (!staged && !metadata.digest) {
      throw new RegistryError('FIRMWARE_MISSING', 'the "firmware" file part is missing (curl: -F firmware=@firmware.bin)');
    }
    const result = staged ? await registry.publish(metadata, staged) : await registry.publishStored(metadata);
    ctx.status = result.created ? 201 : 200;
    ctx.body = publishJson(result);
  });

  router.get('/firmware', (ctx) => {
    ctx.body = registry.list(parseVersionQuery(ctx.query, { prerelease: true, also: ['name', 'version'] })).map(recordJson);
  });
}

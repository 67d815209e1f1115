import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { BlobStore } from '../../cas/blob-store.js';
import { isRegistryError, RegistryError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import { receiveUpload, refuseUnreceivable, type Upload } from '../receive-upload.js';
import type { Metrics } from '../metrics.js';
import { parseVersionQuery } from '../query-params.js';
import { limitConcurrency } from '../upload-limit.js';
import type { MinimumRate } from '../upload-rate.js';
import { publishJson, recordJson } from '../record-json.js';

export interface FirmwareRouteDeps {
  registry: Registry;
  store: BlobStore;
  maxUploadBytes: number;
  maxConcurrentUploads: number;
  minimumUploadRate: MinimumRate;
  requireToken: Middleware;
  metrics: Metrics;
}

/** The seed's routes (SPEC §3): publish and list (downloads are in downloads.ts). */
export function firmwareRoutes(router: Router, deps: FirmwareRouteDeps): void {
  const { registry, metrics } = deps;
  const publish: Middleware = async (ctx) => {
    const { metadata, staged } = ctx.state.upload as Upload;
    if (!staged && !metadata.digest) {
      throw new RegistryError('FIRMWARE_MISSING', 'the "firmware" file part is missing (curl: -F firmware=@firmware.bin)');
    }
    const result = staged ? await registry.publish(metadata, staged) : await registry.publishStored(metadata);
    metrics.uploads.inc({ result: result.created ? 'created' : 'existing' });
    if (result.deduplicated) {
      metrics.dedupHits.inc();
      metrics.dedupBytesSaved.inc(result.record.size);
    }
    ctx.status = result.created ? 201 : 200;
    ctx.body = publishJson(result);
  };
  const countRejected: Middleware = async (_ctx, next) => {
    try {
      await next();
    } catch (error) {
      // A publish by digest the store cannot serve is how clients ask "do you have these
      // bytes?" before sending them (`push` does it for every new build): not a rejection.
      metrics.uploads.inc({ result: isRegistryError(error, 'BLOB_UNKNOWN') ? 'probe_miss' : 'rejected' });
      throw error;
    }
  };

  const receive = receiveUpload(deps.store, deps.maxUploadBytes, deps.minimumUploadRate);
  router.post('/firmware', countRejected, deps.requireToken, refuseUnreceivable(deps.maxUploadBytes), limitConcurrency(deps.maxConcurrentUploads), receive, publish);

  router.get('/firmware', async (ctx) => {
    ctx.body = (await registry.list(parseVersionQuery(ctx.query, { prerelease: true, also: ['name', 'version'] }))).map(recordJson);
  });
}

import client from 'prom-client';
import { RequestMetrics, type RequestObservation } from './request-metrics.js';

/**
 * The registry's Prometheus metrics (served at GET /metrics): the per-request ones (see
 * request-metrics.ts), and, through prom-client, uploads, deduplication, the index, blobs,
 * persist latency and the process's own (CPU, memory, event loop lag).
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new RequestMetrics();
  readonly uploads = new client.Counter({
    name: 'spore_uploads_total',
    help: 'Publishes, by result: created, existing (a retry of the same bytes), rejected, probe_miss (a publish by digest of bytes the registry lacks)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly dedupHits = new client.Counter({
    name: 'spore_dedup_hits_total',
    help: 'Publishes whose bytes the store already held',
    registers: [this.registry],
  });
  readonly dedupBytesSaved = new client.Counter({
    name: 'spore_dedup_bytes_saved_total',
    help: 'Bytes not stored again thanks to deduplication',
    registers: [this.registry],
  });
  readonly persistSeconds = new client.Histogram({
    name: 'spore_index_persist_seconds',
    help: 'Time to append one group of index changes to the journal and fdatasync it',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  constructor(gauges: { versions: () => Promise<number>; storedBytes: () => Promise<number>; downloadsInFlight: () => number }) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'spore_' });
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new client.Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          // An index that does not answer now (a database away) leaves the gauge as it was:
          // /health says what is down; the scrape still answers.
          this.set(await read());
        },
      });
    gauge('spore_index_versions', 'Published versions (index rows)', gauges.versions);
    gauge('spore_blob_bytes', 'Bytes of the distinct published blobs', gauges.storedBytes);
    gauge('spore_downloads_in_flight', 'Download bodies being sent now', gauges.downloadsInFlight);
  }

  observe(observation: RequestObservation): void {
    this.requests.observe(observation);
  }

  /** Everything, in the Prometheus text format. */
  async exposition(): Promise<string> {
    return `${this.requests.exposition()}${await this.registry.metrics()}`;
  }
}

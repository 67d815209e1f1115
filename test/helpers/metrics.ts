import type { TestRegistry } from './registry-server.js';

/**
 * The registry's /metrics now, as a lookup of one series by its exact text
 * (`spore_uploads_total{result="created"}`); NaN when the series is absent.
 */
export async function scrapeMetrics(registry: TestRegistry): Promise<(series: string) => number> {
  const text = (await registry.get('/metrics')).body.toString();
  return (series) => Number(new RegExp(`^${series.replace(/[{}()|[\]\\^$.*+?]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

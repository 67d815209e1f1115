import http from 'node:http';

export interface LoadResult {
  requests: number;
  bytes: number;
  seconds: number;
  errors: number;
  /** 99th percentile of the time from sending a request to reading the end of its answer. */
  p99Ms: number;
}

/**
 * A closed-loop load generator: `connections` kept-alive clients each send the next request
 * as soon as the last answer is fully read, for `seconds`. Bodies are counted and dropped.
 * (autocannon tops out far below these servers on large bodies; this does not parse more
 * than it must.)
 */
export async function load(url: string, { connections = 4, seconds = 4, headers = {} as Record<string, string> } = {}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = performance.now() + seconds * 1000;
  const result: LoadResult = { requests: 0, bytes: 0, seconds, errors: 0, p99Ms: NaN };
  const latencies: number[] = [];
  const started = performance.now();
  const client = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      await new Promise<void>((resolve) => {
        const req = http.get(url, { agent, headers }, (res) => {
          res.on('data', (chunk: Buffer) => (result.bytes += chunk.length));
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 400) result.errors++;
            else result.requests++;
            latencies.push(performance.now() - sent);
            resolve();
          });
        });
        req.on('error', () => {
          result.errors++;
          resolve();
        });
      });
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  result.seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  result.p99Ms = latencies[Math.floor(latencies.length * 0.99)] ?? NaN;
  agent.destroy();
  return result;
}

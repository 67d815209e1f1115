export interface RequestObservation {
  method: string;
  /** The route template (`/firmware/:name/:version`), never the raw path: bounded label values. */
  route: string;
  /** `aborted`: the client went away before an answer went out. */
  status: number | 'aborted';
  bytes: number;
  seconds: number;
}

const BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

interface Requests {
  labels: string;
  count: number;
}

interface Durations {
  labels: string;
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * The per-request metrics, counted in plain numbers and written out in the Prometheus text
 * format (0.0.4) when scraped. prom-client hashes the label set on every increment and
 * observation; at tens of thousands of requests a second that was a tenth of the CPU, so the
 * hot path here is a map lookup and a few additions.
 *
 *   spore_http_requests_total{method,route,status}           counter (206, 304 and `aborted` included)
 *   spore_http_request_duration_seconds{method,route}        histogram
 *   spore_http_response_bytes_total{route}                   counter (body bytes of finished answers)
 */
export class RequestMetrics {
  readonly #requests = new Map<string, Requests>();
  readonly #durations = new Map<string, Durations>();
  readonly #bytes = new Map<string, { labels: string; total: number }>();
  #last: { method: string; route: string; status: number | 'aborted'; requests: Requests; durations: Durations } | undefined;

  observe({ method, route, status, bytes, seconds }: RequestObservation): void {
    // Under load most requests are of the kind just counted: then no key is made or looked up.
    let last = this.#last;
    if (last === undefined || last.method !== method || last.route !== route || last.status !== status) {
      last = this.#last = { method, route, status, requests: this.#requestsOf(method, route, status), durations: this.#durationsOf(method, route) };
    }
    const { requests, durations } = last;
    requests.count++;

    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= (BUCKETS[i] as number)) {
        durations.buckets[i] = (durations.buckets[i] as number) + 1;
        break;
      }
    }
    durations.sum += seconds;
    durations.count++;

    if (bytes > 0) {
      let served = this.#bytes.get(route);
      if (!served) {
        served = { labels: labels({ route }), total: 0 };
        this.#bytes.set(route, served);
      }
      served.total += bytes;
    }
  }

  #requestsOf(method: string, route: string, status: number | 'aborted'): Requests {
    const key = `${method} ${route} ${status}`;
    let requests = this.#requests.get(key);
    if (!requests) {
      requests = { labels: labels({ method, route, status: String(status) }), count: 0 };
      this.#requests.set(key, requests);
    }
    return requests;
  }

  #durationsOf(method: string, route: string): Durations {
    const key = `${method} ${route}`;
    let durations = this.#durations.get(key);
    if (!durations) {
      durations = { labels: labels({ method, route }), buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(key, durations);
    }
    return durations;
  }

  /** The metrics in the Prometheus text exposition format. */
  exposition(): string {
    const lines = [
      '# HELP spore_http_requests_total HTTP requests, by method, route and status (206 and 304 included; aborted: the client left before an answer)',
      '# TYPE spore_http_requests_total counter',
    ];
    for (const { labels: set, count } of this.#requests.values()) lines.push(`spore_http_requests_total{${set}} ${count}`);
    lines.push(
      '# HELP spore_http_request_duration_seconds Time from request to the end of the answer, by method and route',
      '# TYPE spore_http_request_duration_seconds histogram',
    );
    for (const { labels: set, buckets, sum, count } of this.#durations.values()) {
      let cumulative = 0;
      BUCKETS.forEach((bound, i) => {
        cumulative += buckets[i] as number;
        lines.push(`spore_http_request_duration_seconds_bucket{${set},le="${bound}"} ${cumulative}`);
      });
      lines.push(`spore_http_request_duration_seconds_bucket{${set},le="+Inf"} ${count}`);
      lines.push(`spore_http_request_duration_seconds_sum{${set}} ${sum}`);
      lines.push(`spore_http_request_duration_seconds_count{${set}} ${count}`);
    }
    lines.push('# HELP spore_http_response_bytes_total Body bytes sent (Content-Length of finished answers; none for HEAD), by route', '# TYPE spore_http_response_bytes_total counter');
    for (const { labels: set, total } of this.#bytes.values()) lines.push(`spore_http_response_bytes_total{${set}} ${total}`);
    return `${lines.join('\n')}\n`;
  }
}

function labels(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
    .join(',');
}

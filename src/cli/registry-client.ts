import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { CliError, UsageError } from './cli-error.js';

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface StreamingRequest {
  method: string;
  path: string;
  headers?: Record<string, string | number>;
  /** Buffers, or a stream, sent in order. */
  body?: (Buffer | Readable)[];
}

/** The registry's HTTP API, as the command line uses it: node:http, nothing in between. */
export class RegistryClient {
  readonly base: URL;

  constructor(
    url: string,
    private readonly token?: string,
  ) {
    const base = URL.canParse(url) ? new URL(url.endsWith('/') ? url : `${url}/`) : undefined;
    if (base?.protocol !== 'http:' && base?.protocol !== 'https:') {
      throw new UsageError(`--url and SPORE_URL take the registry's http(s) URL, such as http://localhost:3002, not ${JSON.stringify(url)}`);
    }
    this.base = base;
  }

  /** Sends a request and reads the whole answer. */
  async send(request: StreamingRequest): Promise<ClientResponse> {
    const res = await this.open(request);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await this.readAll(res) };
  }

  /** The rest of an answer's body; a connection that breaks meanwhile is a one-line failure. */
  async readAll(res: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch {
      throw new CliError(`the connection to the registry at ${this.base.origin} broke during the answer; try again`);
    }
    return Buffer.concat(chunks);
  }

  /** Sends a request and gives the answer as a stream (for downloads). */
  open(request: StreamingRequest): Promise<http.IncomingMessage> {
    const url = new URL(request.path.replace(/^\//, ''), this.base);
    const headers: Record<string, string | number> = { ...request.headers };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method: request.method, headers }, resolve);
      req.on('error', (error) => reject(new CliError(`cannot reach the registry at ${this.base.origin}: ${error.message}`)));
      void (async () => {
        for (const part of request.body ?? []) {
          if (Buffer.isBuffer(part)) {
            if (!req.write(part)) await new Promise((drained) => req.once('drain', drained));
            continue;
          }
          for await (const chunk of part) {
            if (!req.write(chunk)) await new Promise((drained) => req.once('drain', drained));
          }
        }
        req.end();
      })().catch((error: Error) => req.destroy(error));
    });
  }
}

/** The registry's own message for a failed answer, as one line. */
export function failure(what: string, response: ClientResponse): CliError {
  try {
    const { error } = JSON.parse(response.body.toString('utf8')) as { error: { code: string; message: string } };
    return new CliError(`${what}: ${response.status} ${error.code}: ${error.message}`);
  } catch {
    return new CliError(`${what}: the registry answered ${response.status}`);
  }
}

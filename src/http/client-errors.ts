import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import { errorBody } from './error-response.js';
import { STATUS_OF } from './error-status.js';

/**
 * Requests Node refuses before any handler runs — headers over the limit, headers too slow,
 * bytes that are not HTTP — get the registry's JSON error too (SPEC §3), instead of Node's
 * bare status line, and the connection is closed.
 */
export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const refused =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new RegistryError('HEADERS_TOO_LARGE', 'the request headers are larger than 16 KiB')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new RegistryError('REQUEST_TIMEOUT', 'the request headers did not arrive in time')
          : new RegistryError('REQUEST_MALFORMED', 'the request is not valid HTTP/1.1');
    const body = JSON.stringify(errorBody(refused));
    const status = STATUS_OF[refused.code];
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    log.info({ code: refused.code, cause: error.code, ip: socket.remoteAddress }, 'request refused before routing');
  });
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

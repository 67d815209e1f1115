import net from 'node:net';

/**
 * Rejects with Node's EADDRINUSE (or EACCES, EADDRNOTAVAIL) when `port` on `host` cannot be
 * listened on, by listening and closing again. The server checks this before it takes the
 * index or makes a folder, so a start that cannot serve leaves nothing behind. Another
 * program may still take the port in the moment after; the real listen then fails as before.
 * Port 0 (any free port) needs no check.
 */
export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

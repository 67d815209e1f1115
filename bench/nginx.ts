import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export interface Nginx {
  url: string;
  /** The master's process id; its worker is its child. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Debian's nginx, if installed (`apt-get install nginx`); the bench installs nothing itself. */
export function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** nginx serving `root` on loopback as a reference for the registry's downloads. */
export async function startNginx(binary: string, root: string, workDir: string): Promise<Nginx> {
  return startNginxWith(binary, workDir, `root ${root};`);
}

/**
 * nginx on loopback with `server` as the rest of its one server block (after `listen`): a
 * `root` to serve files, or a `location` to proxy (the tests put it in front of the registry
 * as the README shows). One worker (the registry is one thread), sendfile on, its default
 * access log to a file (the registry logs every request too). `http` goes before the server
 * block, in the http context: an `upstream` of several registries.
 */
export async function startNginxWith(binary: string, workDir: string, server: string, http = ''): Promise<Nginx> {
  const port = await freePort();
  const conf = path.join(workDir, 'nginx.conf');
  await fs.writeFile(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${path.join(workDir, 'nginx.pid')};
error_log ${path.join(workDir, 'nginx-error.log')};
events { worker_connections 1024; }
http {
  access_log ${path.join(workDir, 'nginx-access.log')};
  client_body_temp_path ${workDir};
  proxy_temp_path ${workDir};
  fastcgi_temp_path ${workDir};
  uwsgi_temp_path ${workDir};
  scgi_temp_path ${workDir};
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  ${http}
  server { listen 127.0.0.1:${port}; ${server} }
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-c', conf, '-p', workDir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitForPort(port, child);
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('nginx did not start listening');
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the web page, held in memory with what its answers need. */
export interface UiAsset {
  readonly type: string;
  readonly body: Buffer;
  /** The same bytes gzipped, for clients that accept it (the page's modules compress 3–4×). */
  readonly gzip: Buffer;
  /** A strong entity tag of the bytes; the gzip variant has its own (RFC 9110 §8.8.3). */
  readonly etag: string;
  readonly gzipEtag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** What a served file name may look like: no folders, no dot files, one of the known types. */
const FILE_NAME = /^[a-z0-9][a-z0-9.-]*\.(html|js|css|svg)$/;

/**
 * The web page's files, read once: the hand-written ones (`ui/static/`: index.html, the style
 * sheet, the icon) and the modules compiled from `ui/src/` (`dist/ui/`, by `tsc -p ui`).
 * Only flat files of the known types are taken, so nothing else in those folders (source maps,
 * build info) is ever served. Returns undefined when the modules have not been built.
 */
export function loadUiAssets(staticDir: string, compiledDir: string): Map<string, UiAsset> | undefined {
  if (!fs.existsSync(path.join(compiledDir, 'main.js'))) return undefined;
  const assets = new Map<string, UiAsset>();
  for (const dir of [staticDir, compiledDir]) {
    for (const name of fs.readdirSync(dir)) {
      if (!FILE_NAME.test(name)) continue;
      const body = fs.readFileSync(path.join(dir, name));
      const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
      assets.set(name, {
        type: TYPES[path.extname(name)] ?? 'application/octet-stream',
        body,
        gzip: gzipSync(body, { level: 9 }),
        etag: `"${hash}"`,
        gzipEtag: `"${hash}-gzip"`,
      });
    }
  }
  return assets;
}

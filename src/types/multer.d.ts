/**
 * The parts of multer and @koa/multer this project uses. `@types/koa__multer` is out of date
 * and `@types/multer` drags in Express, so these are declared here, from multer 2.x's
 * StorageEngine.md and @koa/multer 4's index.js.
 */
declare module 'multer' {
  import type { IncomingMessage } from 'node:http';
  import type { Readable } from 'node:stream';

  export interface File {
    fieldname: string;
    originalname: string;
    encoding: string;
    mimetype: string;
    /** Only while a storage engine's `_handleFile` runs. */
    stream: Readable;
    size?: number;
  }

  export interface StorageEngine {
    _handleFile(req: IncomingMessage, file: File, callback: (error: Error | null, info?: object) => void): void;
    _removeFile(req: IncomingMessage, file: File, callback: (error: Error | null) => void): void;
  }

  export interface Limits {
    fieldNameSize?: number;
    fieldSize?: number;
    fields?: number;
    fileSize?: number;
    files?: number;
    parts?: number;
    headerPairs?: number;
  }

  export interface Options {
    storage: StorageEngine;
    limits?: Limits | ((req: IncomingMessage) => Limits);
    /** busboy's buffer for the request body. */
    highWaterMark?: number;
    /** busboy's buffer for each file part's stream. */
    fileHwm?: number;
  }

  export interface Field {
    name: string;
    maxCount?: number;
  }

  export class MulterError extends Error {
    code: string;
    field?: string;
  }

  const multer: { MulterError: typeof MulterError };
  export default multer;
}

declare module '@koa/multer' {
  import type { Middleware } from 'koa';
  import type { Field, Options } from 'multer';

  interface KoaMulter {
    fields(fields: readonly Field[]): Middleware;
  }

  function multer(options: Options): KoaMulter;
  export default multer;
}

import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import initSqlJs, { type SqlJsStatic } from 'sql.js';

let engine: Promise<SqlJsStatic> | undefined;

/**
 * The SQLite engine, compiled to WebAssembly. The .wasm file is read from an explicit path
 * (sql.js would otherwise guess it relative to the working directory). The engine holds no
 * data of its own, so one instance serves every database in the process.
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  engine ??= (async () => {
    const wasmPath = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
    const wasm = await fs.readFile(wasmPath);
    return initSqlJs({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });
  })();
  return engine;
}

import { crc32 } from 'node:zlib';
import type { IndexChange } from './index-change.js';

/** One change as the journal holds it: its place in the sequence of every change ever made. */
export interface JournalEntry {
  seq: number;
  change: IndexChange;
}

/**
 * The journal's framing, one record per change:
 *
 *   u32 LE  length of the payload in bytes
 *   u32 LE  CRC-32 of the payload
 *   payload JSON: {"seq": n, ...change}
 *
 * The length lets a reader step from record to record; the checksum tells a record that was
 * written whole from one cut short by a crash (or damaged since).
 */
const HEADER_BYTES = 8;
/** Far above any real record (labels are capped); a larger length is damage, not a record. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export function encodeEntries(entries: JournalEntry[]): Buffer {
  return Buffer.concat(
    entries.map(({ seq, change }) => {
      const payload = Buffer.from(JSON.stringify({ seq, ...change }));
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(crc32(payload), 4);
      return Buffer.concat([header, payload]);
    }),
  );
}

export interface DecodedJournal {
  /** Each with the offset of its record, for errors that name it. */
  entries: (JournalEntry & { offset: number })[];
  /** Offset just past the last whole record. */
  validEnd: number;
  /** Where the first record that is not whole starts, and why it is not; none when all are. */
  bad?: { offset: number; reason: string; atTail: boolean };
}

/**
 * Reads records from `bytes` until the end or the first record that is not whole. A bad record
 * is `atTail` when nothing after it could be a record: a crash during an append leaves exactly
 * that (a header or payload cut short, or the unwritten rest of a block as zeros).
 */
export function decodeEntries(bytes: Buffer): DecodedJournal {
  const entries: DecodedJournal['entries'] = [];
  let at = 0;
  while (at < bytes.length) {
    const bad = (reason: string, end: number): DecodedJournal => ({
      entries,
      validEnd: at,
      bad: { offset: at, reason, atTail: end >= bytes.length || isZeros(bytes.subarray(at)) },
    });
    if (bytes.length - at < HEADER_BYTES) return bad('a record header cut short', bytes.length);
    const length = bytes.readUInt32LE(at);
    const checksum = bytes.readUInt32LE(at + 4);
    const end = at + HEADER_BYTES + length;
    if (length === 0 || length > MAX_PAYLOAD_BYTES) return bad(`an impossible record length ${length}`, at + HEADER_BYTES);
    if (end > bytes.length) return bad('a record cut short', end);
    const payload = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32(payload) !== checksum) return bad('a record that fails its checksum', end);
    let parsed: { seq?: unknown };
    try {
      parsed = JSON.parse(payload.toString('utf8')) as { seq?: unknown };
    } catch {
      return bad('a record that is not JSON', end);
    }
    const { seq, ...change } = parsed;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return bad('a record without a sequence number', end);
    entries.push({ seq, change: change as IndexChange, offset: at });
    at = end;
  }
  return { entries, validEnd: at };
}

function isZeros(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

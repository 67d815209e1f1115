import { answered } from './client.js';
import { FIRMWARE, PROBE } from './publishers.js';
import { Releases } from './releases.js';
import { anyTarget, breathe, jsonOf, send, versionPath, type Traffic } from './traffic.js';

/**
 * Downloads acknowledged versions, whole or a Range, and compares every byte with what was
 * published. A 404 is fine for a version being deleted, or acknowledged less than a second
 * ago; bytes are served until a second after a DELETE was acknowledged, never later.
 */
export async function downloader(traffic: Traffic): Promise<void> {
  while (traffic.running()) {
    const release = traffic.releases.pick();
    if (!release) {
      await breathe(50);
      continue;
    }
    const size = release.bytes.length;
    const first = Math.floor(Math.random() * size);
    const last = Math.min(size - 1, first + Math.floor(Math.random() * 65536));
    const ranged = Math.random() < 0.5;
    const outcome = await send(traffic, ranged ? 'range download' : 'download', anyTarget(traffic), 'GET', versionPath(release.name, release.version), {
      headers: ranged ? { Range: `bytes=${first}-${last}` } : {},
    });
    const where = `${release.name}@${release.version} from ${outcome.target}`;
    if (!answered(outcome)) {
      traffic.ledger.unexpected('download', outcome);
    } else if (outcome.status === 404 && outcome.code === 'BLOB_UNKNOWN' && release.state !== 'published') {
      // A download that found the version just before its DELETE removed the row and then the
      // bytes: the bytes are gone when they are asked for (a 404 as well, named for the blob).
    } else if (outcome.status === 404 && outcome.code === 'NOT_FOUND') {
      if (!Releases.mayMiss(release, outcome.startedAt)) traffic.ledger.fail(`acknowledged ${where}: 404 ${outcome.startedAt - release.ackAt} ms after the acknowledgement`);
    } else if (outcome.status === 200 || outcome.status === 206) {
      const expected = outcome.status === 206 ? release.bytes.subarray(first, last + 1) : release.bytes;
      if (!outcome.body.equals(expected) || outcome.headers.etag !== `"${release.digest}"`) traffic.ledger.fail(`${where}: wrong bytes (${outcome.status}, ${outcome.headers['content-range'] ?? 'whole'})`);
      if (outcome.status === 206 && outcome.headers['content-range'] !== `bytes ${first}-${last}/${size}`) traffic.ledger.fail(`${where}: Content-Range ${outcome.headers['content-range']} for bytes=${first}-${last}`);
      if (!Releases.mayServe(release, outcome.startedAt)) traffic.ledger.fail(`${where}: served ${outcome.startedAt - release.deletedAt!} ms after its DELETE was acknowledged`);
    } else {
      traffic.ledger.unexpected('download', outcome);
    }
    await breathe();
  }
}

/**
 * Devices polling `/updates/<name>?current=1.0.0` with the ETag of their last answer, in turn
 * for FIRMWARE (whose answer changes all the time) and for the probe (whose answer never
 * does): 304 while the answer holds, 200 with the newest version (its digest that of the bytes
 * published, never a version deleted more than a second ago), 204 or 404 before anything newer
 * is published.
 */
export async function poller(traffic: Traffic): Promise<void> {
  const etags = new Map<string, string>();
  for (let round = 0; traffic.running(); round++) {
    const target = anyTarget(traffic);
    const name = round % 2 === 0 ? FIRMWARE : PROBE.name;
    const etag = etags.get(`${name} from ${target}`);
    const outcome = await send(traffic, 'update check', target, 'GET', `/updates/${name}?current=1.0.0`, { headers: etag ? { 'If-None-Match': etag } : {} });
    if (!answered(outcome)) {
      traffic.ledger.unexpected('update check', outcome);
    } else if (outcome.status === 200) {
      const offered = jsonOf<{ version: string; sha256: string }>(outcome);
      // A version the publisher has not heard acknowledged yet cannot be judged.
      const release = offered && traffic.releases.get(name, offered.version);
      if (release && release.digest !== offered.sha256) traffic.ledger.fail(`update check offered ${name}@${offered.version} with digest ${offered.sha256}`);
      if (release && !Releases.mayServe(release, outcome.startedAt)) traffic.ledger.fail(`update check offered ${name}@${release.version} ${outcome.startedAt - release.deletedAt!} ms after its DELETE was acknowledged`);
      etags.set(`${name} from ${target}`, String(outcome.headers.etag));
    } else if (outcome.status === 304 && etag) {
      traffic.counters.notModified++;
    } else if (outcome.status !== 204 && !(outcome.status === 404 && outcome.code === 'NOT_FOUND')) {
      traffic.ledger.unexpected('update check', outcome);
    }
    await breathe();
  }
}

import { isDeepStrictEqual } from 'node:util';
import pLimit from 'p-limit';
import { answered } from './client.js';
import { CONTESTED, FIRMWARE } from './publishers.js';
import { jsonOf, send, versionPath, type Traffic } from './traffic.js';

interface Listed {
  version: string;
  sha256: string;
  labels: Record<string, string>;
}

/**
 * After the run, from every instance directly: each acknowledged version that was not deleted is
 * listed (with its digest and one of the label sets it may have) and downloads whole with its
 * bytes; no deleted version is listed. Returns how many downloads were verified; each miss is
 * a failure in the ledger.
 */
export async function verifyEverywhere(traffic: Traffic): Promise<number> {
  const { ledger, releases } = traffic;
  const kept = releases.all().filter((release) => release.state === 'published');
  const limit = pLimit(4);
  let verified = 0;
  for (const instance of traffic.instances) {
    for (const name of [FIRMWARE, CONTESTED]) {
      const outcome = await send(traffic, 'final listing', instance, 'GET', `/firmware?name=${name}`);
      const listed = answered(outcome) && outcome.status === 200 ? jsonOf<Listed[]>(outcome) : undefined;
      if (!listed) {
        ledger.unexpected('final listing', outcome);
        continue;
      }
      const byVersion = new Map(listed.map((row) => [row.version, row]));
      for (const release of releases.all().filter((candidate) => candidate.name === name)) {
        const row = byVersion.get(release.version);
        const where = `${name}@${release.version} on instance ${instance}`;
        if (release.state === 'deleted' && row) ledger.fail(`${where}: listed after its DELETE was acknowledged`);
        if (release.state !== 'published') continue;
        if (!row) ledger.fail(`${where}: acknowledged, not listed`);
        else if (row.sha256 !== release.digest) ledger.fail(`${where}: listed with digest ${row.sha256}`);
        else if (!release.labels.some((labels) => isDeepStrictEqual(labels, row.labels))) ledger.fail(`${where}: labels ${JSON.stringify(row.labels)}`);
      }
    }
    await Promise.all(
      kept.map((release) =>
        limit(async () => {
          const download = await send(traffic, 'final download', instance, 'GET', versionPath(release.name, release.version));
          if (answered(download) && download.status === 200 && download.body.equals(release.bytes)) verified++;
          else ledger.fail(`${release.name}@${release.version} on instance ${instance}: acknowledged, downloads as ${answered(download) ? download.status : download.failure}`);
        }),
      ),
    );
  }
  return verified;
}

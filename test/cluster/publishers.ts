import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import type { Answered, Target } from './client.js';
import { measurePropagation } from './propagation.js';
import { anyTarget, breathe, jsonOf, publish, untilAnswered, type Traffic } from './traffic.js';

/** The firmware the traffic publishes, relabels and deletes; and the one published by many at once. */
export const FIRMWARE = 'fw';
export const CONTESTED = 'contest';
/** Published before the traffic, never changed by it: `probe@1.0.0`, with `probe@1.1.0` as its update. */
export const PROBE = { name: 'probe', current: '1.0.0', update: '1.1.0' };

/** Mostly small images, now and then a larger one (ranges then span more than one S3 read). */
function imageSize(): number {
  const sizes = [1024, 16 * 1024, 100 * 1024, 100 * 1024, 1024 * 1024];
  return sizes[Math.floor(Math.random() * sizes.length)]!;
}

/** `fw@1.0.<n>` for n = 1, 2, …: every third one is left to the deleter, the others may be published again. */
export function deletable(version: string): boolean {
  return Number(version.split('.')[2]) % 3 === 0;
}

/**
 * Publishes new versions of FIRMWARE (201 expected; 200 only after a failed attempt that may
 * have been applied), measures how soon every instance serves every fourth, and now and then
 * publishes an acknowledged version again with the same bytes (200 expected).
 */
export async function publisher(traffic: Traffic): Promise<void> {
  while (traffic.running()) {
    const patch = ++traffic.counters.patch;
    const version = `1.0.${patch}`;
    const bytes = firmwareBytes(imageSize());
    const labels = { channel: 'beta' };
    const { answer, failedBefore } = await untilAnswered(traffic, 'publish', (target) => publish(traffic, 'publish', target, FIRMWARE, version, bytes, labels));
    if (checkPublished(traffic, answer, bytes, failedBefore ? [201, 200] : [201])) {
      const release = traffic.releases.acknowledge(FIRMWARE, version, bytes, labels);
      if (patch % 4 === 0) {
        release.measuring = true;
        await measurePropagation(traffic, 'publish', FIRMWARE, version, { at: release.ackAt, by: answer.target });
        release.measuring = false;
      }
    }
    const again = Math.random() < 0.25 ? traffic.releases.pick((release) => release.name === FIRMWARE && !deletable(release.version)) : undefined;
    if (again) {
      const { answer: duplicate } = await untilAnswered(traffic, 'publish again', (target) => publish(traffic, 'publish again', target, FIRMWARE, again.version, again.bytes, again.labels[0]));
      checkPublished(traffic, duplicate, again.bytes, [200]);
    }
    await breathe();
  }
}

function checkPublished(traffic: Traffic, answer: Answered, bytes: Buffer, statuses: number[]): boolean {
  const body = jsonOf<{ sha256?: string }>(answer);
  if (statuses.includes(answer.status) && body?.sha256 === sha256(bytes)) return true;
  traffic.ledger.unexpected(answer.status === 201 || answer.status === 200 ? 'publish' : 'publish refused', answer, `expected ${statuses.join(' or ')} with the digest of the bytes sent`);
  return false;
}

/** How each round of a contested version is sent: the same bytes from 3 clients through nginx and one to each instance, other bytes once. */
function contenders(traffic: Traffic): { target: Target; same: boolean }[] {
  return [
    ...['nginx', 'nginx', 'nginx', ...traffic.instances].map((target) => ({ target: target as Target, same: true })),
    { target: anyTarget(traffic), same: false },
  ];
}

/**
 * Publishes `contest@2.0.<round>` from every contender at once. The database decides: exactly
 * one 201 (at most one when an attempt went unanswered: the 201 may be what was lost), 200 for
 * every other attempt with the winner's bytes, 409 for the others.
 */
export async function contester(traffic: Traffic): Promise<void> {
  while (traffic.running()) {
    const version = `2.0.${traffic.counters.rounds++}`;
    const bytes = { same: firmwareBytes(imageSize()), other: firmwareBytes(4096) };
    const answers = await Promise.all(
      contenders(traffic).map(async ({ target, same }) => {
        const sent = same ? bytes.same : bytes.other;
        const { answer, failedBefore } = await untilAnswered(traffic, 'contested publish', (to) => publish(traffic, 'contested publish', to, CONTESTED, version, sent), target);
        return { answer, failedBefore, same };
      }),
    );
    const created = answers.filter(({ answer }) => answer.status === 201);
    const anyFailed = answers.some(({ failedBefore }) => failedBefore);
    const winner = (created[0] ?? answers.find(({ answer }) => answer.status === 200))?.same;
    const consistent = answers.every(({ answer, same }) => (answer.status === 201 || answer.status === 200 ? same === winner : answer.status === 409 && same !== winner));
    const summary = answers.map(({ answer, same }) => `${answer.status}${same ? '' : ' (other bytes)'}`).join(', ');
    if (created.length > 1 || (created.length === 0 && !anyFailed) || winner === undefined || !consistent) {
      traffic.ledger.fail(`${CONTESTED}@${version}: ${summary}`);
    } else {
      if (created.length === 1) traffic.counters.oneCreated++;
      traffic.releases.acknowledge(CONTESTED, version, winner ? bytes.same : bytes.other, {});
    }
    await breathe(200);
  }
}

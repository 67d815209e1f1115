import { isDeepStrictEqual } from 'node:util';
import { answered } from './client.js';
import { measurePropagation } from './propagation.js';
import { deletable, FIRMWARE } from './publishers.js';
import { Releases } from './releases.js';
import { anyTarget, breathe, jsonOf, send, untilAnswered, unanswered, versionPath, type Traffic } from './traffic.js';

/**
 * Promotes acknowledged versions: PATCH with new labels, 200 with those labels back. A 404 is
 * fine only for a version being deleted or just published. A PATCH left unanswered may or may
 * not have been applied: the release may then carry either label set.
 */
export async function relabeler(traffic: Traffic): Promise<void> {
  for (let round = 0; traffic.running(); round++) {
    const release = traffic.releases.pick((candidate) => candidate.name === FIRMWARE);
    if (!release) {
      await breathe(50);
      continue;
    }
    const labels = { channel: 'stable', round: String(round) };
    const body = Buffer.from(JSON.stringify({ labels }));
    release.labels.push(labels);
    const outcome = await send(traffic, 'relabel', anyTarget(traffic), 'PATCH', versionPath(release.name, release.version), {
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      body,
    });
    if (!answered(outcome) || unanswered(outcome)) {
      traffic.ledger.unexpected('relabel', outcome);
    } else if (outcome.status === 200 && isDeepStrictEqual(jsonOf<{ labels: unknown }>(outcome)?.labels, labels)) {
      release.labels = [labels];
    } else if (outcome.code === 'NOT_FOUND' && !Releases.mayMiss(release, outcome.startedAt)) {
      traffic.ledger.fail(`relabel of ${release.name}@${release.version}: 404 ${outcome.startedAt - release.ackAt} ms after the acknowledgement`);
    } else if (outcome.code !== 'NOT_FOUND') {
      traffic.ledger.unexpected('relabel', outcome);
    }
    await breathe(50);
  }
}

/**
 * Deletes every third version of FIRMWARE, one at a time, retrying until the DELETE is
 * answered; then measures how long until no instance serves it. A 404 is the answer of a
 * DELETE whose earlier attempt (the client's, or nginx's on another instance) was applied.
 */
export async function deleter(traffic: Traffic): Promise<void> {
  while (traffic.running()) {
    const release = traffic.releases.pick((candidate) => candidate.name === FIRMWARE && deletable(candidate.version) && candidate.measuring !== true);
    if (!release) {
      await breathe(100);
      continue;
    }
    release.state = 'deleting';
    const path = versionPath(release.name, release.version);
    const { answer, failedBefore } = await untilAnswered(traffic, 'delete', (target) => send(traffic, 'delete', target, 'DELETE', path));
    if (answer.status === 404 && answer.code === 'NOT_FOUND') {
      if (!failedBefore) traffic.ledger.unexpected('delete', answer, 'already gone: was it retried by nginx?');
    } else if (answer.status !== 204) {
      traffic.ledger.unexpected('delete', answer);
      release.state = 'published';
      continue;
    }
    release.state = 'deleted';
    release.deletedAt = answer.endedAt;
    await measurePropagation(traffic, 'delete', release.name, release.version, { at: answer.endedAt, by: answer.target });
    await breathe(300);
  }
}

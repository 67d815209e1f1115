import { answered, targetName, type Target } from './client.js';
import { PROPAGATION_MS } from './releases.js';
import { breathe, send, versionPath, type Traffic } from './traffic.js';

/** How long to keep asking an instance before giving up on it showing the change. */
const CEILING_MS = 10_000;

/**
 * After a publish or a DELETE was acknowledged, asks every instance directly (HEAD, so the
 * polls stay cheap) until each shows it: 200 for a publish, 404 for a DELETE. The answer that
 * is stale is the other one; a 503 (the database away, the version not cached) is neither.
 *
 * An instance that does not answer at all (the killed one, before it is back) has nothing
 * stale to serve and is not waited for. On a busy machine a request takes a while, so what is
 * measured is when the last stale answer was asked for: the change was not yet visible then
 * (or later, when the request was served). Stale answers to requests sent more than a second
 * after the acknowledgement are a failure, which no slowness of the client can explain.
 */
export async function measurePropagation(traffic: Traffic, kind: 'publish' | 'delete', name: string, version: string, ack: { at: number; by: Target }): Promise<void> {
  const ackAt = ack.at;
  const [shown, stale] = kind === 'publish' ? [200, 404] : [404, 200];
  const seen = await Promise.all(
    traffic.instances.map(async (instance) => {
      let staleSentAfter = 0;
      for (;;) {
        const outcome = await send(traffic, `${kind} propagation`, instance, 'HEAD', versionPath(name, version));
        if (!answered(outcome) || outcome.status === shown) return { instance, staleSentAfter };
        if (outcome.status === stale) staleSentAfter = outcome.startedAt - ackAt;
        // A HEAD has no body to name the error: a 503 with Retry-After is the database away.
        else if (outcome.status !== 503 || outcome.headers['retry-after'] === undefined) traffic.ledger.unexpected(`${kind} propagation`, outcome);
        if (outcome.startedAt - ackAt > CEILING_MS) return { instance, staleSentAfter };
        await breathe(10);
      }
    }),
  );
  traffic.ledger.propagated(kind, Math.max(...seen.map(({ staleSentAfter }) => staleSentAfter)));
  const late = seen.filter(({ staleSentAfter }) => staleSentAfter > PROPAGATION_MS);
  if (late.length > 0) {
    const when = new Date(ackAt).toISOString().slice(11, 23);
    traffic.ledger.fail(`${kind} of ${name}@${version} acknowledged by ${targetName(ack.by)} at ${when}: answered ${stale} to a request sent ${late.map(({ instance, staleSentAfter }) => `${staleSentAfter} ms later to instance ${instance}`).join(', ')}`);
  }
}

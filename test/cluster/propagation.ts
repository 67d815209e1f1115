import { answered } from './client.js';
import { PROPAGATION_MS } from './releases.js';
import { breathe, send, versionPath, type Traffic } from './traffic.js';

/** How long to keep asking an instance before giving up on it showing the change. */
const CEILING_MS = 10_000;

/**
 * After a publish (`status` 200) or a DELETE (`status` 404) was acknowledged at `ackAt`, asks
 * every instance directly (HEAD, so the polls stay cheap) until each gives that answer, and
 * records the delay: from the acknowledgement to the end of the first request that showed the
 * change, an upper bound. An instance that does not answer at all (the killed one, before it
 * is back) has nothing stale to serve and is not waited for. Beyond a second is a failure.
 */
export async function measurePropagation(traffic: Traffic, kind: 'publish' | 'delete', name: string, version: string, ackAt: number): Promise<void> {
  const status = kind === 'publish' ? 200 : 404;
  const delays = await Promise.all(
    traffic.instances.map(async (instance) => {
      for (;;) {
        const outcome = await send(traffic, `${kind} propagation`, instance, 'HEAD', versionPath(name, version));
        if (!answered(outcome)) return 0;
        if (outcome.status === status) return outcome.endedAt - ackAt;
        if (outcome.endedAt - ackAt > CEILING_MS) return outcome.endedAt - ackAt;
        await breathe(10);
      }
    }),
  );
  const longest = Math.max(...delays);
  traffic.ledger.propagated(kind, longest);
  if (longest > PROPAGATION_MS) {
    const late = delays.flatMap((delay, i) => (delay > PROPAGATION_MS ? [`instance ${traffic.instances[i]} ${delay} ms`] : []));
    traffic.ledger.fail(`${kind} of ${name}@${version}: not shown within ${PROPAGATION_MS} ms of the acknowledgement by ${late.join(', ')}`);
  }
}

import type { Digest } from '../../src/digest.js';
import { sha256 } from '../helpers/fixtures.js';

/** What the clients know of one acknowledged version: its bytes and what happened to it since. */
export interface Release {
  name: string;
  version: string;
  bytes: Buffer;
  digest: Digest;
  /** When the publish was acknowledged (201 or 200). */
  ackAt: number;
  /** A DELETE was sent and not yet answered; then acknowledged (204) at `deletedAt`. */
  state: 'published' | 'deleting' | 'deleted';
  deletedAt?: number;
  /**
   * Its propagation is being measured (propagation.ts): the deleter leaves it alone meanwhile,
   * or the measurement would wait for a version that is, rightly, gone.
   */
  measuring?: boolean;
  /** The label sets it may have: the last acknowledged one, and any sent since without an answer. */
  labels: Record<string, string>[];
}

/** Every version the clients had acknowledged, by `name@version`. */
export class Releases {
  private readonly byKey = new Map<string, Release>();

  acknowledge(name: string, version: string, bytes: Buffer, labels: Record<string, string>): Release {
    const release: Release = { name, version, bytes, digest: sha256(bytes), ackAt: Date.now(), state: 'published', labels: [labels] };
    this.byKey.set(`${name}@${version}`, release);
    return release;
  }

  get(name: string, version: string): Release | undefined {
    return this.byKey.get(`${name}@${version}`);
  }

  all(): Release[] {
    return [...this.byKey.values()];
  }

  /** A random published version that `filter` accepts. */
  pick(filter: (release: Release) => boolean = () => true): Release | undefined {
    const candidates = this.all().filter((release) => release.state === 'published' && filter(release));
    return candidates[Math.floor(Math.random() * candidates.length)];
  }

  /** Whether an instance may still serve `release` to a request that began at `startedAt`. */
  static mayServe(release: Release, startedAt: number): boolean {
    return release.state !== 'deleted' || startedAt < release.deletedAt! + PROPAGATION_MS;
  }

  /** Whether an instance may still answer 404 for `release` to a request that began at `startedAt`. */
  static mayMiss(release: Release, startedAt: number): boolean {
    return release.state !== 'published' || startedAt < release.ackAt + PROPAGATION_MS;
  }
}

/** The promise: what one instance acknowledges, every other shows within a second. */
export const PROPAGATION_MS = 1000;

/**
 * Polls `condition` until it holds; throws after `ms` (the test then fails, not hangs). The
 * ceiling is generous on purpose: on a busy shared machine, "soon" can take seconds.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

import { readFileSync } from 'node:fs';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/**
 * The ```sh blocks of the README section under `heading` (a whole line such as "### Backups"),
 * up to the next heading of the same or a higher level: tests run the README's commands as
 * written, so a README that drifts from the code fails the suite.
 */
export function readmeShellBlocks(heading: string): string[] {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const lines = README.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no heading "${heading}"`);
  let fenced = false; // a `# comment` in a code block is no heading
  const end = lines.findIndex((line, i) => {
    if (/^ *```/.test(line)) fenced = !fenced;
    return i > start && !fenced && (/^(#+) /.exec(line)?.[1]?.length ?? 99) <= level;
  });
  const section = lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  return [...section.matchAll(/^ *```sh\n([\s\S]*?)^ *```$/gm)].map((match) => dedent(match[1] ?? ''));
}

/** The one line of a section's sh blocks that starts with `prefix`, without its trailing comment. */
export function readmeLine(heading: string, prefix: string): string {
  const found = readmeShellBlocks(heading)
    .flatMap((block) => block.split('\n'))
    .filter((line) => line.startsWith(prefix));
  if (found.length !== 1) throw new Error(`README.md section "${heading}" has ${found.length} lines starting with "${prefix}"`);
  return (found[0] ?? '').replace(/\s+#.*$/, '');
}

/** Blocks inside list items are indented; the shell wants them as written, not indented. */
function dedent(block: string): string {
  const lines = block.replace(/\n$/, '').split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim()).map((line) => /^ */.exec(line)?.[0].length ?? 0));
  return lines.map((line) => line.slice(indent)).join('\n');
}

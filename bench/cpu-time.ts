import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ): 100 on Linux. */
const TICKS = 100;

/**
 * CPU seconds (user + system, all threads) used so far by a process and its descendants that
 * are still running (nginx's workers under its master). On a shared machine a rate in requests
 * per second follows whatever else runs; requests per CPU second of the server itself is what
 * one core would do, whatever the load beside it.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // Fields after the command (which may hold spaces, so split after its closing parenthesis):
    // state is field 3, utime 14 and stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    return own + children.reduce((sum, child) => sum + cpuSeconds(child), 0);
  } catch {
    return NaN;
  }
}

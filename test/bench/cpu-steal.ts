/**
 * CPU time the hypervisor gave to other guests while a benchmark round ran
 * (the `steal` column of /proc/stat), as a share of all CPU time in that
 * round. A 2-vCPU cloud VM can lose a third of its CPU to a neighbour for
 * minutes at a time, and a round measured then says more about the
 * neighbour than about the code: bench:mllp prints it beside every round.
 */
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  total: number;
  steal: number;
}

/** The machine's CPU times so far, or null where /proc/stat does not exist (not Linux). */
export function cpuTimes(): CpuTimes | null {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const fields = line?.startsWith('cpu ') ? line.slice(4).trim().split(/\s+/).map(Number) : [];
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
  return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7]! };
}

/** Steal between two readings, in percent of all CPU time between them (one decimal); null when unknown. */
export function stealPercent(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  if (total <= 0) return null;
  return Math.round((1000 * (after.steal - before.steal)) / total) / 10;
}

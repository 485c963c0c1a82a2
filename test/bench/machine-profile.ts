/**
 * What a durable-intake benchmark result depends on besides the code: the
 * cores (the hub's event loop, its store writer thread and the load driver
 * share them) and how long the disk takes to make 4 KB durable (every
 * acknowledged message waits for one such sync, shared by its group commit).
 * Printed beside bench:mllp's table so numbers from different machines can be
 * read side by side.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { percentile } from './percentile';

export interface MachineProfile {
  cpus: number;
  cpuModel: string;
  /** write(4 KB) + fdatasync, in the directory the benchmark's stores live in. */
  syncP50Ms: number;
  syncP99Ms: number;
}

/**
 * @param dir - where the benchmark keeps its stores (the probe file is made and removed there)
 * @param samples - synced writes to time
 */
export function machineProfile(dir: string, samples = 300): MachineProfile {
  const probeDir = mkdtempSync(join(dir, 'sync-probe-'));
  const fd = openSync(join(probeDir, 'probe'), 'w');
  const page = Buffer.alloc(4096, 0x5a);
  const times: number[] = [];
  try {
    // Overwrite a small preallocated region, as a WAL does once it has been recycled.
    for (let i = 0; i < 16; i++) writeSync(fd, page, 0, page.length, i * page.length);
    fdatasyncSync(fd);
    for (let i = 0; i < samples; i++) {
      const start = process.hrtime.bigint();
      writeSync(fd, page, 0, page.length, (i % 16) * page.length);
      fdatasyncSync(fd);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(probeDir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const all = cpus();
  return { cpus: all.length, cpuModel: all[0]?.model.trim() ?? 'unknown', syncP50Ms: percentile(times, 0.5), syncP99Ms: percentile(times, 0.99) };
}

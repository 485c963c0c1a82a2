import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A serial port closed while a read is on the thread pool (the analyzer's
 * line dropped, the link reopening) must not re-arm the port's destroyed
 * poller: that started a uv_poll on memory the GC had freed, and the hub died
 * with SIGSEGV (seen twice in full test runs, in astm-serial.int.test.ts).
 * The stress runs in a child process, so a regression fails here instead of
 * taking the jest worker down; before the fix it crashed within the first
 * ~100 of its 300 close cycles in every try (8 of 8).
 */
const ROOT = join(__dirname, '..', '..');
const STRESS = join(ROOT, 'dist', 'test', 'support', 'serial-close-stress.js');
const ITERATIONS = 300;

test('closing ports with reads in flight, a GC after each close: the process survives every cycle', () => {
  const socat = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (socat.error || socat.status !== 0) throw new Error('socat is needed for the serial close test (pseudo-terminal pairs): apt-get install socat');
  const dir = mkdtempSync(join(tmpdir(), 'serial-close-'));
  try {
    const run = spawnSync(process.execPath, ['--expose-gc', STRESS, String(ITERATIONS), dir], { encoding: 'utf8', timeout: 120_000 });
    expect({ signal: run.signal, status: run.status, stderr: run.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
    expect(run.stdout).toContain(`closed ${ITERATIONS} ports with reads in flight`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

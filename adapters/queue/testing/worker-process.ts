import type { ChildProcess } from 'node:child_process';
import { siblingEntry, spawnTs } from './spawn-ts';
import type { WorkerConfig } from './queue-worker';

/** A running queue-worker.ts child and what it reported so far. */
export interface WorkerProcess {
  readonly proc: ChildProcess;
  /** Ids whose handler started (`D`). */
  readonly delivered: Set<string>;
  /** Ids whose handler started and will never finish (`H`). */
  readonly hung: Set<string>;
  /** Ids whose enqueue resolved (`E`), in order. */
  readonly enqueued: string[];
  readonly ready: Promise<void>;
  /** The enqueue phase finished. */
  readonly done: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Ends it gracefully (stdin closes), killing it after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts a worker (see queue-worker.ts) and parses its stdout as it goes.
 * @param config - backend, queue, policy and what to do
 */
export function startWorker(config: WorkerConfig): WorkerProcess {
  const proc = spawnTs(siblingEntry('queue-worker'), [JSON.stringify(config)]);
  const delivered = new Set<string>();
  const hung = new Set<string>();
  const enqueued: string[] = [];
  let err = '';
  let buffered = '';
  let onReady!: () => void;
  let onDone!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<void>((r) => (onDone = r));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      if (l === 'READY') onReady();
      else if (l === 'DONE') onDone();
      else if (l.startsWith('D ')) delivered.add(l.slice(2));
      else if (l.startsWith('H ')) hung.add(l.slice(2));
      else if (l.startsWith('E ')) enqueued.push(l.slice(2));
    }
  });
  const failedStart = exited.then(({ code, signal }) => {
    throw new Error(`queue worker exited (${String(code ?? signal)}) before it was ready: ${err}`);
  });
  void failedStart.catch(() => undefined);
  return {
    proc,
    delivered,
    hung,
    enqueued,
    ready: Promise.race([ready, failedStart]),
    done,
    exited,
    stderr: () => err,
    async stop(timeoutMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

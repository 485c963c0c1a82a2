import type { Worker } from 'node:worker_threads';
import { startWorker } from '../shared/start-worker';

/** Starts and stops the checkpoint thread (see sqlite-checkpoint-worker.ts). */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private exited = false;

  /**
   * @param file - the store file
   * @param intervalMs - time between two PASSIVE checkpoints
   */
  constructor(file: string, intervalMs: number) {
    this.worker = startWorker(__dirname, 'sqlite-checkpoint-worker', { file, intervalMs });
    this.worker.once('exit', () => (this.exited = true));
    // A failed checkpoint thread costs only latency: the writer's backstop checkpoint still runs.
    this.worker.on('error', () => undefined);
    this.worker.unref();
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage({ close: true });
    await closed;
    await this.worker.terminate();
  }
}

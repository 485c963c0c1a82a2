import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubMetrics, MessageOutcome } from '../shared/hub-metrics';
import { createMessageStore } from '../store';
import type { EncryptedMessageStore } from '../store';
import { CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { testStoreKeys } from '../../test/support/store-keys';
import { Hl7Intake } from './hl7-intake';
import type { Clock, IntakeDelivery } from './types';

/** Moves only when told; timers never fire on their own (processing timeouts stay out of the way). */
class StepClock implements Clock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
  setTimeout(): unknown {
    return 0;
  }
  clearTimeout(): void {}
}

/** Every call the intake makes, as `endpoint outcome type` lines and latency observations. */
class RecordingMetrics implements HubMetrics {
  readonly messages: string[] = [];
  readonly acks: number[] = [];
  readonly processingTimes: number[] = [];
  message(endpoint: string, outcome: MessageOutcome, type?: string | null): void {
    this.messages.push(`${endpoint} ${outcome} ${type ?? ''}`.trim());
  }
  ackLatency(endpoint: string, seconds: number): void {
    expect(endpoint).toBe('lab-in');
    this.acks.push(seconds);
  }
  processing(endpoint: string, seconds: number): void {
    expect(endpoint).toBe('lab-in');
    this.processingTimes.push(seconds);
  }
  connections(): void {}
}

const CONN = { connectionId: 1, remoteAddress: '127.0.0.1', remotePort: 40001 };

function message(controlId: string, type = 'ORU^R01'): Buffer {
  return Buffer.from(
    [`MSH|^~\\&|LIS|LAB|HUB|CLINIC|20260101120000||${type}|${controlId}|P|2.5.1`, `PID|1||${CANARY_MRN}^^^CLINIC^MR||${CANARY_NAME}`].join('\r') + '\r',
    'utf8',
  );
}

/**
 * The MLLP intake reports to Prometheus through HubMetrics: each arrival is
 * `received` once stored, then `sent`, `filtered` or `errored`; every answer
 * observes the ACK latency and every settled message its processing time.
 */
/** After commit the flow gets the message in the event loop turn after the answer. */
const deliveredToFlow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Hl7Intake metrics', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let clock: StepClock;
  let metrics: RecordingMetrics;
  let intake: Hl7Intake;
  let deliveries: IntakeDelivery[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-intake-metrics-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    clock = new StepClock();
    metrics = new RecordingMetrics();
    intake = new Hl7Intake({ endpoint: 'lab-in', duplicateWindowMs: 60_000 }, { store, clock, metrics });
    deliveries = [];
    intake.onMessage((d) => deliveries.push(d));
  });

  afterEach(async () => {
    await intake.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a message the flow completes counts received then sent, with its ACK latency and processing time', async () => {
    const original = clock.now.bind(clock);
    // The store commit "takes" 40 ms: the ACK latency is measured from receipt to the answer.
    let calls = 0;
    clock.now = () => original() + (calls++ === 0 ? 0 : 40);
    await intake.handle(message('M-1'), CONN);
    await deliveredToFlow();
    expect(metrics.messages).toEqual(['lab-in received ORU^R01']);
    expect(metrics.acks).toHaveLength(1);
    expect(metrics.acks[0]).toBeCloseTo(0.04, 5);

    clock.t += 250;
    deliveries[0]!.complete();
    expect(metrics.messages).toEqual(['lab-in received ORU^R01', 'lab-in sent ORU^R01']);
    expect(metrics.processingTimes).toHaveLength(1);
    expect(metrics.processingTimes[0]).toBeCloseTo(0.25, 5);
  });

  test('a flow error counts errored once, even when a later outcome overrides it', async () => {
    await intake.handle(message('M-2'), CONN);
    await deliveredToFlow();
    deliveries[0]!.complete({ error: new Error('downstream refused') });
    deliveries[0]!.complete();
    expect(metrics.messages).toEqual(['lab-in received ORU^R01', 'lab-in errored ORU^R01']);
  });

  test('unparseable input counts received and errored without a type label taken from it', async () => {
    const response = await intake.handle(Buffer.from(`MSH|^~\\&|X|Y|Z|W|20260101||${CANARY_MRN}|C-9|P|2.5.1\rPID|1|missing terminator`, 'utf8'), CONN);
    expect(response).toBeDefined();
    expect(metrics.messages).toEqual(['lab-in received', 'lab-in errored']);
    expect(metrics.acks).toHaveLength(1);
    expect(JSON.stringify(metrics.messages)).not.toContain(CANARY_MRN);
  });

  test('a resent duplicate counts received and filtered', async () => {
    await intake.handle(message('M-3'), CONN);
    await deliveredToFlow();
    deliveries[0]!.complete();
    await intake.handle(message('M-3'), CONN);
    expect(metrics.messages).toEqual(['lab-in received ORU^R01', 'lab-in sent ORU^R01', 'lab-in received ORU^R01', 'lab-in filtered ORU^R01']);
    expect(metrics.acks).toHaveLength(2);
  });

  test('a message type that is not shaped like one is labelled other', async () => {
    await intake.handle(message('M-4', 'Z-CUSTOM^THING'), CONN);
    expect(metrics.messages).toEqual(['lab-in received other']);
  });

  test('without consumers the message counts received and errored', async () => {
    const lonely = new Hl7Intake({ endpoint: 'lab-in' }, { store, clock, metrics });
    try {
      await lonely.handle(message('M-5'), CONN);
      expect(metrics.messages).toEqual(['lab-in received ORU^R01', 'lab-in errored ORU^R01']);
    } finally {
      await lonely.close();
    }
  });
});

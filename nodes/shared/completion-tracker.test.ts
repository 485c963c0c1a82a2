import { CompletionTracker, isLegacyNode } from './completion-tracker';
import type { TrackedOutcome } from './completion-tracker';

describe('CompletionTracker', () => {
  function tracked(): { tracker: CompletionTracker; outcomes: TrackedOutcome[] } {
    const tracker = new CompletionTracker();
    const outcomes: TrackedOutcome[] = [];
    tracker.track('m1', (o) => outcomes.push(o));
    return { tracker, outcomes };
  }

  test('finishes when every routed copy has been received and completed', () => {
    const { tracker, outcomes } = tracked();
    tracker.delivered('m1', 'a');
    tracker.delivered('m1', 'b');
    tracker.sent('m1');
    tracker.received('m1', 'a');
    tracker.delivered('m1', 'c'); // a sends on before it completes
    tracker.completed('m1', 'a');
    tracker.received('m1', 'b');
    tracker.completed('m1', 'b');
    expect(outcomes).toEqual([]);
    tracker.received('m1', 'c');
    tracker.completed('m1', 'c');
    expect(outcomes).toEqual([{}]);
    expect(tracker.size).toBe(0);
  });

  test('nothing routed (no wires): finished as soon as send() returns', () => {
    const { tracker, outcomes } = tracked();
    tracker.sent('m1');
    expect(outcomes).toEqual([{}]);
  });

  test('synchronous delivery: a copy completing inside send() does not finish early', () => {
    const { tracker, outcomes } = tracked();
    tracker.delivered('m1', 'a');
    tracker.received('m1', 'a');
    tracker.completed('m1', 'a');
    expect(outcomes).toEqual([]);
    tracker.delivered('m1', 'b');
    tracker.sent('m1');
    tracker.received('m1', 'b');
    tracker.completed('m1', 'b');
    expect(outcomes).toEqual([{}]);
  });

  test('a direct receive (link in, catch) counts as a copy of its own', () => {
    const { tracker, outcomes } = tracked();
    tracker.delivered('m1', 'linkOut');
    tracker.sent('m1');
    tracker.received('m1', 'linkOut');
    tracker.received('m1', 'linkIn'); // emitted synchronously by link out
    tracker.completed('m1', 'linkIn');
    expect(outcomes).toEqual([]);
    tracker.completed('m1', 'linkOut');
    expect(outcomes).toEqual([{}]);
  });

  test('the first error finishes the msg; later events are ignored', () => {
    const { tracker, outcomes } = tracked();
    tracker.delivered('m1', 'a');
    tracker.delivered('m1', 'b');
    tracker.sent('m1');
    const error = new Error('x');
    tracker.completed('m1', 'a', error);
    tracker.completed('m1', 'b');
    expect(outcomes).toEqual([{ error, nodeId: 'a' }]);
  });

  test('other msgs, undefined ids and forgotten msgs are ignored', () => {
    const { tracker, outcomes } = tracked();
    tracker.delivered('other', 'a');
    tracker.received(undefined, 'a');
    tracker.completed('other', 'a', new Error('not ours'));
    tracker.delivered('m1', 'a');
    tracker.sent('m1');
    tracker.forget('m1');
    tracker.completed('m1', 'a');
    expect(outcomes).toEqual([]);
    expect(tracker.size).toBe(0);
  });

  test('a node without done() completes its copy when the deferred settle runs', () => {
    const { tracker, outcomes } = tracked();
    const deferred: (() => void)[] = [];
    tracker.delivered('m1', 'switch');
    tracker.sent('m1');
    tracker.received('m1', 'switch');
    tracker.settleLegacy('m1', 'switch', (fn) => deferred.push(fn));
    // The switch forwards the msg from its own deferred turn: counted before its copy completes.
    tracker.delivered('m1', 'next');
    deferred.forEach((fn) => fn());
    expect(outcomes).toEqual([]);
    tracker.received('m1', 'next');
    tracker.completed('m1', 'next');
    expect(outcomes).toEqual([{}]);
    tracker.settleLegacy('m1', 'switch', () => {
      throw new Error('a finished msg schedules nothing');
    });
  });

  test('isLegacyNode reads whether any input handler takes done', () => {
    expect(isLegacyNode({ _expectedDoneCount: 0 })).toBe(true);
    expect(isLegacyNode({ _expectedDoneCount: 1 })).toBe(false);
    expect(isLegacyNode({})).toBe(false);
    expect(isLegacyNode(undefined)).toBe(false);
  });
});

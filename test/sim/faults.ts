/**
 * Faults the simulated analyzer can inject, each once per playback unless
 * `times` says otherwise (the retry after a failed session then succeeds):
 *
 * - `bad-checksum`: frame N goes out with a wrong checksum (`times` tries in a row; 6 makes the sender give up);
 * - `wrong-frame-number`: frame N goes out with the next frame's number (checksum recomputed);
 * - `drop-ack`: the ACK answering frame N is lost on the way in, so the sender times out (E1381 §6.5.2);
 * - `late-eot`: the EOT after the last frame is held back `delayMs` (default: longer than the 30 s receiver timer);
 * - `contention`: when the host sends ENQ, the analyzer starts its own transmission at the same moment;
 * - `oversize-frame`: the whole message goes in one frame, past the 247-byte limit;
 * - `disconnect`: the connection drops right after frame N.
 *
 * CLI syntax: `kind[@N][xTIMES][+DELAYms]`, e.g. `bad-checksum@2`, `bad-checksum@1x6`, `late-eot+1500`.
 */
export type FaultKind = 'bad-checksum' | 'wrong-frame-number' | 'drop-ack' | 'late-eot' | 'contention' | 'oversize-frame' | 'disconnect';

export const FAULT_KINDS: readonly FaultKind[] = ['bad-checksum', 'wrong-frame-number', 'drop-ack', 'late-eot', 'contention', 'oversize-frame', 'disconnect'];

export interface Fault {
  kind: FaultKind;
  /** 1-based frame of the session it hits; default 2 (or the last frame when there are fewer). `last` for the last frame. */
  frame?: number | 'last';
  /** Consecutive tries affected (bad-checksum). Default 1. */
  times?: number;
  /** late-eot delay. Default 35 s. */
  delayMs?: number;
}

/**
 * @param spec - comma-separated fault specs (see the module comment)
 * @throws Error naming the bad spec
 */
export function parseFaults(spec: string | undefined): Fault[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^([a-z-]+)(?:@(\d+|last))?(?:x(\d+))?(?:\+(\d+)(?:ms)?)?$/.exec(s);
      if (!m || !FAULT_KINDS.includes(m[1] as FaultKind)) throw new Error(`unknown fault "${s}"; known: ${FAULT_KINDS.join(', ')}`);
      const fault: Fault = { kind: m[1] as FaultKind };
      if (m[2]) fault.frame = m[2] === 'last' ? 'last' : Number(m[2]);
      if (m[3]) fault.times = Number(m[3]);
      if (m[4]) fault.delayMs = Number(m[4]);
      return fault;
    });
}

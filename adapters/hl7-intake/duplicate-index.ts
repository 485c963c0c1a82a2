import { DUPLICATE_INDEX_MAX } from './types';

/** A claim on a message key: the caller settles it once the sender's answer is decided. */
export interface DuplicateTicket {
  /** The stored record, so later duplicates can point at it (parentId). */
  bind(recordId: string): void;
  /** The sender got AA/CA: retransmissions within the window are duplicates. */
  accept(): void;
  /** The sender got AE/AR, or nothing was stored: a retransmission is processed again. */
  reject(): void;
}

export type DuplicateClaim =
  | { duplicateOf: string }
  /** A new message; `reused` when the key was seen with different content. */
  | { ticket: DuplicateTicket; reused: boolean };

/** Bytes of the content digest that are kept and compared (a prefix of the caller's digest). */
export const DUPLICATE_DIGEST_BYTES = 16;
/** Longest record id kept in the entry itself (UTF-8); longer ones are kept beside it. */
const ID_BYTES = 48;
const FIRST_CAPACITY = 1024;

const FREE = 0;
const PENDING = 1;
const ACCEPTED = 2;

const NOOP_TICKET: DuplicateTicket = { bind: () => undefined, accept: () => undefined, reject: () => undefined };

/**
 * Recently accepted messages by sender + control id, for answering a
 * retransmission without processing it twice.
 *
 * A message is a duplicate only when the earlier one (a) came from the same
 * sender with the same MSH-10 within the window, (b) has the same content
 * apart from MSH-7, and (c) was accepted. (b) keeps a sender that reuses
 * control ids from losing a different message. (c) means a message that got
 * AE/AR is processed again when it is resent. A retransmission that arrives
 * while the original is still waiting for its answer waits for that answer,
 * so the two never run through the flow side by side.
 *
 * Entries live in typed arrays, not as JavaScript objects: the index holds
 * every message of the window (minutes of traffic, up to `max`), and as
 * objects each one survived two young-generation collections and was copied
 * twice on its way to the old generation; at the MLLP benchmark's rate that
 * doubled the event loop's collection pauses. Entries are a ring in arrival
 * order (so expiry and the size bound both take the oldest), found through a
 * map from a 30-bit hash of the key to a chain of slots; a slot keeps the
 * key's two 32-bit hashes, and a match also needs the content digest, which
 * covers the key's own fields (MSH-3, MSH-4, MSH-10), so a hash collision
 * can only make a message count as new, never as a duplicate.
 *
 * The index lives in memory: it starts empty after a restart or redeploy,
 * where delivery falls back to at-least-once.
 */
export class DuplicateIndex {
  private capacity = 0;
  /** Entries handed out so far; entry `seq` lives in slot seq % capacity. */
  private written = 0;
  /** Sequence number of the oldest entry still in the ring. */
  private oldest = 0;
  private live = 0;
  private seqOf = new Float64Array(0);
  private at = new Float64Array(0);
  private hashA = new Uint32Array(0);
  private hashB = new Uint32Array(0);
  private digests = new Uint8Array(0);
  private state = new Uint8Array(0);
  private next = new Int32Array(0);
  private idLength = new Uint8Array(0);
  private ids = new Uint8Array(0);
  /** `ids` as a Buffer, made once per growth rather than once per message. */
  private idsView = Buffer.alloc(0);
  /** Record ids too long for their slot, and retransmissions waiting on a pending entry: both rare, by sequence number. */
  private readonly longIds = new Map<number, string>();
  private readonly waiters = new Map<number, (() => void)[]>();
  /** 30-bit key hash → newest slot of its chain. */
  private readonly chains = new Map<number, number>();

  /**
   * @param windowMs - 0 disables the index
   * @param now - clock
   * @param max - most keys kept; the oldest go first
   */
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly max: number = DUPLICATE_INDEX_MAX,
  ) {}

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  get size(): number {
    return this.live;
  }

  /**
   * Either the id of the accepted original, or a ticket for a new message.
   * Answers at once, except for a retransmission whose original is still
   * waiting for its answer: that one waits for it.
   *
   * @param key - sender and control id (an empty control id is never a duplicate)
   * @param digest - content digest that ignores MSH-7; its first DUPLICATE_DIGEST_BYTES bytes are compared
   */
  claim(key: string, digest: Uint8Array): DuplicateClaim | Promise<DuplicateClaim> {
    if (!this.enabled) return { ticket: NOOP_TICKET, reused: false };
    this.prune();
    const a = hashA(key);
    const b = hashB(key);
    const slot = this.find(a, b);
    if (slot < 0) return { ticket: this.open(a, b, digest), reused: false };
    if (!this.sameDigest(slot, digest)) return { ticket: this.open(a, b, digest), reused: true };
    if (this.state[slot] === PENDING) {
      // The original is still waiting for its answer: ask again once it has one.
      const seq = this.seqOf[slot]!;
      const list = this.waiters.get(seq) ?? [];
      this.waiters.set(seq, list);
      return new Promise<void>((resolve) => list.push(resolve)).then(() => this.claim(key, digest));
    }
    const recordId = this.recordId(slot);
    if (recordId !== undefined) return { duplicateOf: recordId };
    return { ticket: this.open(a, b, digest), reused: false };
  }

  /** Settle every pending claim as rejected (shutdown): waiting retransmissions go on as new messages. */
  rejectAll(): void {
    for (let seq = this.oldest; seq < this.written; seq++) {
      const slot = seq % this.capacity;
      if (this.state[slot] === PENDING) this.remove(slot);
    }
  }

  /** @internal a ticket's accept or reject */
  settle(seq: number, accepted: boolean): void {
    const slot = this.slotOf(seq);
    if (slot < 0 || this.state[slot] !== PENDING) return;
    if (accepted) {
      this.state[slot] = ACCEPTED;
      this.wake(seq);
    } else {
      this.remove(slot);
    }
  }

  /** @internal a ticket's bind */
  bind(seq: number, recordId: string): void {
    const slot = this.slotOf(seq);
    if (slot < 0) return;
    if (Buffer.byteLength(recordId) <= ID_BYTES) {
      this.idLength[slot] = this.idsView.write(recordId, slot * ID_BYTES, ID_BYTES);
      this.longIds.delete(seq);
    } else {
      this.idLength[slot] = 0;
      this.longIds.set(seq, recordId);
    }
  }

  /** The slot of live entry `seq`, or -1 once it has left the index. */
  private slotOf(seq: number): number {
    if (seq < this.oldest || seq >= this.written) return -1;
    const slot = seq % this.capacity;
    return this.seqOf[slot] === seq && this.state[slot] !== FREE ? slot : -1;
  }

  private open(a: number, b: number, digest: Uint8Array): DuplicateTicket {
    const prior = this.find(a, b);
    if (prior >= 0) this.remove(prior);
    while (this.live >= this.max) this.dropOldest(true);
    if (this.written - this.oldest >= this.capacity) {
      if (this.capacity < this.max) this.grow();
      else this.dropOldest(false);
    }
    const seq = this.written++;
    const slot = seq % this.capacity;
    this.seqOf[slot] = seq;
    this.at[slot] = this.now();
    this.hashA[slot] = a;
    this.hashB[slot] = b;
    const d = slot * DUPLICATE_DIGEST_BYTES;
    this.digests.fill(0, d, d + DUPLICATE_DIGEST_BYTES);
    this.digests.set(digest.subarray(0, DUPLICATE_DIGEST_BYTES), d);
    this.state[slot] = PENDING;
    this.idLength[slot] = 0;
    this.chain(slot);
    this.live++;
    return new EntryTicket(this, seq);
  }

  private chain(slot: number): void {
    const bucket = this.hashA[slot]! & 0x3fffffff;
    this.next[slot] = this.chains.get(bucket) ?? -1;
    this.chains.set(bucket, slot);
  }

  private find(a: number, b: number): number {
    let slot = this.chains.get(a & 0x3fffffff) ?? -1;
    while (slot >= 0 && (this.hashA[slot] !== a || this.hashB[slot] !== b)) slot = this.next[slot]!;
    return slot;
  }

  private sameDigest(slot: number, digest: Uint8Array): boolean {
    const d = slot * DUPLICATE_DIGEST_BYTES;
    for (let i = 0; i < DUPLICATE_DIGEST_BYTES; i++) {
      if (this.digests[d + i] !== (digest[i] ?? 0)) return false;
    }
    return true;
  }

  private recordId(slot: number): string | undefined {
    const length = this.idLength[slot]!;
    if (length === 0) return this.longIds.get(this.seqOf[slot]!);
    return this.idsView.toString('utf8', slot * ID_BYTES, slot * ID_BYTES + length);
  }

  /** Entries are kept in arrival order, so expired ones are at the front. */
  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.oldest < this.written) {
      const slot = this.oldest % this.capacity;
      if (this.state[slot] !== FREE && this.at[slot]! >= cutoff) break;
      this.dropOldest(false);
    }
  }

  /** Takes the ring's oldest entry out; with `untilLive`, skips past gone ones until a live one is dropped. */
  private dropOldest(untilLive: boolean): void {
    while (this.oldest < this.written) {
      const slot = this.oldest++ % this.capacity;
      // Anyone waiting on a dropped pending entry re-checks and finds nothing.
      const wasLive = this.state[slot] !== FREE;
      if (wasLive) this.remove(slot);
      if (wasLive || !untilLive) return;
    }
  }

  /** Takes an entry out of its chain; its slot stays in the ring until the ring passes it. */
  private remove(slot: number): void {
    const bucket = this.hashA[slot]! & 0x3fffffff;
    const head = this.chains.get(bucket) ?? -1;
    if (head === slot) {
      if (this.next[slot]! >= 0) this.chains.set(bucket, this.next[slot]!);
      else this.chains.delete(bucket);
    } else {
      let prev = head;
      while (prev >= 0 && this.next[prev] !== slot) prev = this.next[prev]!;
      if (prev >= 0) this.next[prev] = this.next[slot]!;
    }
    const seq = this.seqOf[slot]!;
    this.state[slot] = FREE;
    this.longIds.delete(seq);
    this.live--;
    this.wake(seq);
  }

  private wake(seq: number): void {
    const list = this.waiters.get(seq);
    if (!list) return;
    this.waiters.delete(seq);
    for (const resolve of list) resolve();
  }

  /** Doubles the ring (up to max): each entry moves to slot seq % new capacity, chains are rebuilt oldest first. */
  private grow(): void {
    const from = { capacity: this.capacity, seqOf: this.seqOf, at: this.at, hashA: this.hashA, hashB: this.hashB, digests: this.digests, state: this.state, idLength: this.idLength, ids: this.ids };
    const capacity = Math.min(this.max, Math.max(FIRST_CAPACITY, this.capacity * 2));
    this.capacity = capacity;
    this.seqOf = new Float64Array(capacity).fill(-1);
    this.at = new Float64Array(capacity);
    this.hashA = new Uint32Array(capacity);
    this.hashB = new Uint32Array(capacity);
    this.digests = new Uint8Array(capacity * DUPLICATE_DIGEST_BYTES);
    this.state = new Uint8Array(capacity);
    this.next = new Int32Array(capacity).fill(-1);
    this.idLength = new Uint8Array(capacity);
    this.ids = new Uint8Array(capacity * ID_BYTES);
    this.idsView = Buffer.from(this.ids.buffer, this.ids.byteOffset, this.ids.byteLength);
    this.chains.clear();
    for (let seq = this.oldest; seq < this.written; seq++) {
      const f = seq % from.capacity;
      if (from.state[f] === FREE) continue;
      const t = seq % capacity;
      this.seqOf[t] = seq;
      this.at[t] = from.at[f]!;
      this.hashA[t] = from.hashA[f]!;
      this.hashB[t] = from.hashB[f]!;
      this.digests.set(from.digests.subarray(f * DUPLICATE_DIGEST_BYTES, (f + 1) * DUPLICATE_DIGEST_BYTES), t * DUPLICATE_DIGEST_BYTES);
      this.state[t] = from.state[f]!;
      this.idLength[t] = from.idLength[f]!;
      this.ids.set(from.ids.subarray(f * ID_BYTES, (f + 1) * ID_BYTES), t * ID_BYTES);
      this.chain(t);
    }
  }
}

/** The ticket of one claimed entry, by its sequence number (never reused). */
class EntryTicket implements DuplicateTicket {
  constructor(
    private readonly index: DuplicateIndex,
    private readonly seq: number,
  ) {}

  bind(recordId: string): void {
    this.index.bind(this.seq, recordId);
  }

  accept(): void {
    this.index.settle(this.seq, true);
  }

  reject(): void {
    this.index.settle(this.seq, false);
  }
}

/** FNV-1a over UTF-16 code units. */
function hashA(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A second, independent 32-bit hash (murmur3's mixing), so a slot is matched on 64 bits. */
function hashB(s: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h = Math.imul(((h ^ k) << 13) | ((h ^ k) >>> 19), 5) + 0xe6546b64;
  }
  h ^= s.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

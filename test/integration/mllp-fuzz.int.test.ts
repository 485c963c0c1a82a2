import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeHl7Buffer, encodeHl7Buffer, isBatch, parse, serialize, set } from '../../adapters/hl7';
import { frame } from '../../adapters/mllp';
import listenerInit = require('../../nodes/mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../../nodes/mllp-listener/types';
import mllpInInit = require('../../nodes/mllp-in/mllp-in');
import { eventually, listenerNode, RawMllp, startTestHub, steps, testStepNode, withHooks } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { flowNode, helper, withCatalog } from '../support/node-red-helper';
import type { TestMsg } from '../support/node-red-helper';

/**
 * Acceptance (b): 10,000 real messages (the corpus, cycled, each with its own
 * MSH-10) over several sockets, written in chunks cut at random points (a
 * frame split over many writes, several frames in one write, single bytes).
 * Every message must arrive intact and in order per connection: checked on
 * the ACKs, on the msgs the flow gets, and on the stored bodies.
 */
const CORPUS = '/work/shared/corpus/hl7v2';
const ROOT = join(__dirname, '..', '..');
const MESSAGES = 10_000;
const CONNECTIONS = 8;
/** Files whose bytes do not parse would be answered AR: not what this test is about (none at present). */
const SKIP = new Set<string>([]);

helper.init(require.resolve('node-red'));

const nodes = [withCatalog(listenerInit, join(ROOT, 'nodes', 'mllp-listener'), 'mllp-listener'), withHooks(withCatalog(mllpInInit, join(ROOT, 'nodes', 'mllp-in'), 'mllp-in')), testStepNode];

/** Deterministic PRNG (mulberry32), so a failure can be replayed with the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('base64');

const corpusPresent = existsSync(CORPUS);
if (!corpusPresent) process.stdout.write(`mllp-fuzz: ${CORPUS} is not present; the framing fuzz test is skipped\n`);

(corpusPresent ? describe : describe.skip)('MLLP framing fuzz', () => {
  let hub: TestHub;

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  test(`${MESSAGES} messages over ${CONNECTIONS} sockets, split and merged at random points, arrive intact and in order`, async () => {
    const seed = Number(process.env.MLLP_FUZZ_SEED ?? Date.now() % 1_000_000);
    process.stdout.write(`mllp-fuzz: seed ${seed} (set MLLP_FUZZ_SEED to replay)\n`);
    const random = prng(seed);

    const templates = readdirSync(CORPUS)
      .filter((f) => f.endsWith('.hl7') && !SKIP.has(f))
      .map((f) => decodeHl7Buffer(readFileSync(join(CORPUS, f))))
      .filter((text) => !isBatch(text));

    await helper.load(
      nodes,
      [
        { id: 'f1', type: 'tab', label: 'fuzz' },
        listenerNode('L1', { enhancedAcks: false, endpoint: 'fuzz' }),
        { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['sink']] },
        { id: 'sink', z: 'f1', type: 'test-step', x: 0, y: 0, wires: [] },
      ],
      {},
    );
    const emitted = new Map<number, { controlId: string; payload: string }[]>();
    steps.on('input', (msg: TestMsg, nodeId: string) => {
      if (nodeId !== 'sink') return;
      const port = (msg.peer as { port: number }).port;
      if (!emitted.has(port)) emitted.set(port, []);
      emitted.get(port)!.push({ controlId: String(msg.controlId), payload: sha(String(msg.payload)) });
    });
    const listener = flowNode('L1') as MllpListenerNode;
    await listener.whenListening();

    // Build each connection's messages: the corpus cycled, MSH-10 made unique.
    const plan = Array.from({ length: CONNECTIONS }, () => [] as { controlId: string; bytes: Buffer; text: string }[]);
    for (let n = 0; n < MESSAGES; n++) {
      const c = n % CONNECTIONS;
      const message = parse(templates[n % templates.length]!);
      const controlId = `FZ${c}-${String(plan[c]!.length).padStart(5, '0')}`;
      set(message, 'MSH-10', controlId);
      const text = serialize(message);
      plan[c]!.push({ controlId, text, bytes: encodeHl7Buffer(text) });
    }

    const clients = await Promise.all(plan.map(() => RawMllp.open(listener.boundPort()!)));
    try {
      const results = await Promise.all(
        clients.map(async (client, c) => {
          const stream = Buffer.concat(plan[c]!.map((m) => frame(m.bytes)));
          const acks: Promise<Buffer[]> = (async () => {
            const out: Buffer[] = [];
            for (let i = 0; i < plan[c]!.length; i++) out.push(await client.next());
            return out;
          })();
          let at = 0;
          let writes = 0;
          while (at < stream.length) {
            const r = random();
            // Single bytes, short runs (splitting SB/EB/CR and headers), and long runs spanning several frames.
            const size = r < 0.15 ? 1 + Math.floor(random() * 3) : r < 0.55 ? 1 + Math.floor(random() * 200) : 1 + Math.floor(random() * 16_384);
            client.write(stream.subarray(at, at + size));
            at += size;
            // Let some writes leave as separate segments instead of being coalesced.
            if (++writes % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
          return { client, acks: await acks, writes };
        }),
      );

      // After commit, the AA goes out as the msg is handed to the flow; its delivery to the sink node is asynchronous.
      await eventually(() => [...emitted.values()].reduce((n, list) => n + list.length, 0) === MESSAGES, 'every msg to reach the flow');
      for (const [c, { client, acks }] of results.entries()) {
        const sent = plan[c]!;
        const got = acks.map((a) => /(?:^|\r)MSA\|([^|\r]*)\|([^|\r]*)/.exec(a.toString('latin1')));
        expect(got.map((m) => `${m?.[1]}:${m?.[2]}`)).toEqual(sent.map((m) => `AA:${m.controlId}`));
        const flowSaw = emitted.get(client.socket.localPort!) ?? [];
        expect(flowSaw.map((e) => e.controlId)).toEqual(sent.map((m) => m.controlId));
        expect(flowSaw.every((e, i) => e.payload === sha(sent[i]!.text))).toBe(true);
      }
      process.stdout.write(`mllp-fuzz: ${results.reduce((n, r) => n + r.writes, 0)} writes for ${MESSAGES} messages\n`);

      // Stored bodies are the bytes that were sent.
      const expected = new Map(plan.flat().map((m) => [m.controlId, sha(m.bytes)]));
      expect(await hub.store.count({ endpoint: 'fuzz' })).toBe(MESSAGES);
      let cursor: string | undefined;
      let checked = 0;
      do {
        const page = await hub.store.search({ endpoint: 'fuzz', limit: 500, ...(cursor ? { cursor } : {}) });
        for (const item of page.items) {
          const r = await hub.store.get(item.id, { includeBody: true });
          expect(sha(r!.body!)).toBe(expected.get(item.controlId!));
          checked++;
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(checked).toBe(MESSAGES);
    } finally {
      for (const c of clients) c.close();
      steps.removeAllListeners('input');
    }
  }, 240_000);
});

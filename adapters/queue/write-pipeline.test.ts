import { Gate } from './gate';
import { WritePipeline } from './write-pipeline';

test('writes in one turn share a batch; batches stay in order with two in flight', async () => {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const pipe = new WritePipeline<number, number>(async (ops) => {
    batches.push(ops);
    await new Promise<void>((r) => gates.push(r));
    return ops.map((o) => o * 10);
  });
  const first = [1, 2, 3].map((n) => pipe.submit(n));
  await new Promise((r) => setImmediate(r));
  const second = [4, 5].map((n) => pipe.submit(n));
  await new Promise((r) => setImmediate(r));
  const third = pipe.submit(6);
  await new Promise((r) => setImmediate(r));
  expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  gates.shift()!();
  expect(await Promise.all(first)).toEqual([10, 20, 30]);
  await new Promise((r) => setImmediate(r));
  expect(batches).toEqual([[1, 2, 3], [4, 5], [6]]);
  gates.shift()!();
  gates.shift()!();
  expect(await Promise.all([...second, third])).toEqual([40, 50, 60]);
  await pipe.close();
  await expect(pipe.submit(7)).rejects.toThrow();
});

test('a failed transaction fails exactly its own writes', async () => {
  const pipe = new WritePipeline<number, number>(async (ops) => {
    if (ops.includes(13)) throw new Error('disk full');
    return ops;
  });
  await expect(pipe.submit(13)).rejects.toThrow('disk full');
  await new Promise((r) => setImmediate(r));
  await expect(pipe.submit(1)).resolves.toBe(1);
});

test('the gate admits at most its limit and lets the rest in, in order', async () => {
  const gate = new Gate(2);
  const order: number[] = [];
  await gate.acquire();
  await gate.acquire();
  const waiting = [3, 4].map((n) => gate.acquire().then(() => order.push(n)));
  expect(gate.waiting).toBe(2);
  gate.release();
  gate.release();
  await Promise.all(waiting);
  expect(order).toEqual([3, 4]);
  expect(gate.inUse).toBe(2);
});

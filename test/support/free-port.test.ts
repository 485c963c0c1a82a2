import { freePort } from './hub-process';

/**
 * A hub is started with three ports from freePort (HTTP, MLLP, ASTM). The
 * kernel hands a just-closed probe port out again about once in a thousand
 * triples here, and a hub given the same port twice never became ready (a CI
 * failure). No two calls in one process may return the same port.
 */
test('freePort never hands out the same port twice in one process', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 3000; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
});

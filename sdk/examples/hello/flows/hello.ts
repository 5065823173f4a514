import { emit, flow, isMainModule, log, task, z } from '@outpost/sdk';

const square = task({ name: 'square', retries: 2 }, async (values: number[], pauseSeconds: number) => {
  const squares: number[] = [];
  for (const x of values) {
    if (pauseSeconds > 0) await new Promise((resolve) => setTimeout(resolve, pauseSeconds * 1000));
    log.info(`square(${x}) = ${x * x}`);
    squares.push(x * x);
  }
  return squares;
});

const sum = task({ name: 'sum' }, async (values: number[]) => {
  let total = 0;
  for (const x of values) {
    total += x;
    log.info(`running total after adding ${x}: ${total}`);
  }
  return total;
});

const params = z.object({
  n: z.number().int().min(1).default(3),
  /** Seconds to wait before each square: a slow run to watch, or to cancel. */
  pauseSeconds: z.number().min(0).max(60).default(0),
});

export const hello = flow({ name: 'hello', params }, async ({ n, pauseSeconds }) => {
  // The worker redacts resolved secrets from every log line before it leaves your network,
  // so this line reaches the control plane with the value masked.
  log.info(`greeting secret: ${process.env.GREETING_SECRET ?? '(not set)'}`);
  console.log(`squaring the numbers 1 to ${n}`);
  const numbers = Array.from({ length: n }, (_, i) => i + 1);
  const total = await sum(await square(numbers, pauseSeconds));
  log.info(`sum of squares 1..${n} = ${total}`);
  // Events leave through the worker as well, redacted the same way: automations and waiting flows
  // can act on this one, and the secret in it is stored masked.
  await emit('hello.summed', { n, total, greeting: `secret ${process.env.GREETING_SECRET ?? '(not set)'}` });
  return { n, total };
});

// `node --import tsx flows/hello.ts` runs the flow right here, with no server or worker.
if (isMainModule(import.meta.url)) console.log(await hello({ n: 3 }));

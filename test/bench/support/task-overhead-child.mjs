// A flow process for bench/task-overhead.ts: the SDK runtime reports over a real IPC channel to the
// benchmark, which answers every rpc the way a worker does (without calling an API). The flow body
// times the same function called bare and as a task, and sends the timings back.
import { flow, task } from '@outpost/sdk';
import { flowRegistry } from '@outpost/sdk/runtime';

const calls = Number(process.env.BENCH_CALLS ?? '2000');
const rounds = Number(process.env.BENCH_ROUNDS ?? '3');
const inc = async (n) => n + 1;
const incTask = task('inc', inc);

async function time(fn) {
  const started = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return (performance.now() - started) / calls;
}

flow({ name: 'task-overhead-ipc' }, async () => {
  for (let i = 0; i < 200; i++) {
    await inc(i);
    await incTask(i);
  }
  const bare = [];
  const tasked = [];
  for (let r = 0; r < rounds; r++) {
    bare.push(await time(inc));
    tasked.push(await time(incTask));
  }
  process.send({ t: 'bench', bare, tasked });
});

process.on('message', (message) => {
  if (message?.t !== 'start') return;
  flowRegistry()
    .get('task-overhead-ipc')
    .execute(message)
    .then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`${error?.stack ?? error}\n`);
        process.exit(1);
      },
    );
});
process.send({ t: 'ready' });

// The API as a process of its own, for measuring what it costs while idle. Plain JavaScript so
// that no TypeScript loader sits in the process being measured. Started by bench/idle.ts with
// DATABASE_URL; answers 'sample' with its CPU time and memory, and 'stop' by shutting down.
import { createApiKey, startServer } from '@outpost/api';

const server = await startServer({ databaseUrl: process.env.DATABASE_URL, host: '127.0.0.1', port: 0, logLevel: 'silent' });
const { workspaceId } = await server.bootstrap();
const { key: workerKey } = await createApiKey(server.sql, {
  workspaceId,
  name: 'bench-idle',
  role: 'worker',
  pools: ['default'],
});

process.on('message', (message) => {
  if (message === 'sample') {
    const memory = process.memoryUsage();
    process.send?.({
      type: 'sample',
      cpu: process.cpuUsage(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      at: performance.now(),
    });
  } else if (message === 'stop') {
    void server.close().then(() => process.disconnect?.());
  }
});
process.send?.({ type: 'ready', url: server.url, workerKey });

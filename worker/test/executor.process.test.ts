import { createProcessExecutor } from '../src/executors/process.js';
import { describeExecutor } from './executor-contract.js';

describeExecutor('process', createProcessExecutor);

// With flow processes started ahead of need, each attempt takes a waiting one and hands it the run.
describeExecutor('process (pre-started)', (context) =>
  createProcessExecutor({ ...context, options: { ...context.options, prestart: 2 } }),
);

import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { createTaskRunner } from './tasks.js';
import type { WorkerInit, WorkerTask } from './tasks.js';

// Worker thread entry: runs tasks from the coordinator one at a time.
const port = parentPort as MessagePort;
const runner = createTaskRunner(workerData as WorkerInit, port, (msg, transfer) =>
  port.postMessage(msg, transfer),
);
port.on('message', (task: WorkerTask) => runner.run(task));

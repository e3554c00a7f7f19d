import { streamContract } from './contract.js';
import { createInProcessStream } from '../src/index.js';

streamContract({
  name: 'in-process',
  ackTimeoutMs: 300,
  create: async () => createInProcessStream({ stream: 'contract', ackTimeoutMs: 300 }),
  destroy: async () => undefined,
});

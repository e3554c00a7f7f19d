import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalDiskObjectStore } from '../src/index.js';
import { objectStoreContract } from './support/contract.js';
import { startLocalUploadServer } from './support/local-server.js';

const SECRET = 'contract-secret-0123456789abcdef0123456789';
const PART = 256 * 1024;

objectStoreContract('local disk behind its signed route', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'lf-objects-'));
  const server = await startLocalUploadServer();
  const make = (now?: () => number) =>
    new LocalDiskObjectStore({
      root,
      secret: SECRET,
      baseUrl: server.baseUrl,
      minPartSize: PART,
      ...(now === undefined ? {} : { now }),
    });
  server.setStore(make());
  return {
    makeStore: (options = {}) => make(options.now),
    minPartSize: PART,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

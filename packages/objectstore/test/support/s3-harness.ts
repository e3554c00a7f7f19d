import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { S3ObjectStore } from '../../src/s3/s3-store.js';
import { startSigV4Proxy, type SigV4Proxy } from './sigv4-proxy.js';

/** s3rver's built-in account; the proxy checks signatures made with it. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
export const BUCKET = 'linkforge-test';

export interface S3Harness {
  readonly proxy: SigV4Proxy;
  makeStore(options?: { now?: () => Date; minPartSize?: number }): S3ObjectStore;
  close(): Promise<void>;
}

/**
 * Starts the S3 emulator on a random loopback port with a SigV4-verifying proxy in front of
 * it; stores made by `makeStore` talk to the proxy over real HTTP.
 */
export async function startS3Harness(): Promise<S3Harness> {
  const directory = await mkdtemp(path.join(tmpdir(), 'lf-s3rver-'));
  const emulator = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await emulator.run();
  const proxy = await startSigV4Proxy({
    target: { host: '127.0.0.1', port },
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: REGION,
    emulatorDirectory: directory,
  });
  const stores: S3ObjectStore[] = [];
  return {
    proxy,
    makeStore: (options = {}) => {
      const store = new S3ObjectStore({
        bucket: BUCKET,
        client: {
          region: REGION,
          endpoint: proxy.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
        },
        ...(options.minPartSize === undefined ? {} : { minPartSize: options.minPartSize }),
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      stores.push(store);
      return store;
    },
    close: async () => {
      for (const store of stores) store.destroy();
      await proxy.close();
      await emulator.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

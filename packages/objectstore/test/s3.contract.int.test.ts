import { objectStoreContract } from './support/contract.js';
import { startS3Harness } from './support/s3-harness.js';

// Real S3 refuses parts under 5 MiB (except the last); the contract uses the real minimum.
const PART = 5 * 1024 * 1024;

objectStoreContract('S3 adapter against an S3 emulator behind a SigV4-checking proxy', async () => {
  const harness = await startS3Harness();
  return {
    makeStore: (options = {}) => {
      const now = options.now;
      return harness.makeStore({
        minPartSize: PART,
        ...(now === undefined ? {} : { now: () => new Date(now()) }),
      });
    },
    minPartSize: PART,
    close: () => harness.close(),
  };
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDiskObjectStore, type ObjectStore } from '@linkforge/objectstore';
import { IN_MEMORY, type Config } from '../config.js';
import type { Queryable } from '../infra/db/database.js';

/** Route where the app serves the local store's signed PUT and GET requests. */
export const LOCAL_OBJECTS_PATH = '/api/v1/uploads/local';

export interface OpenedObjectStore {
  readonly store: ObjectStore;
  /** Set in local mode: the app mounts its signed endpoints. */
  readonly local: LocalDiskObjectStore | undefined;
  close(): Promise<void>;
}

/**
 * The HMAC key of local signed URLs: made once per installation and kept in the database, so
 * URLs signed before a restart stay valid until they expire.
 */
async function localSigningKey(db: Queryable): Promise<Buffer> {
  await db.query(
    `INSERT INTO app_secrets (name, value) VALUES ('upload_signing_key', $1)
     ON CONFLICT (name) DO NOTHING`,
    [randomBytes(32)],
  );
  const rows = await db.query<{ value: Uint8Array }>(
    `SELECT value FROM app_secrets WHERE name = 'upload_signing_key'`,
  );
  return Buffer.from(rows[0]!.value);
}

/**
 * Opens the object store the config names: the local disk under `DATA_DIR/objects` (a
 * temporary directory, removed on close, with `DATA_DIR=:memory:`), or an S3 bucket whose
 * credentials come from the AWS default provider chain. The AWS SDK is loaded only for S3.
 */
export async function openObjectStore(config: Config, db: Queryable): Promise<OpenedObjectStore> {
  const { uploads } = config;
  if (uploads.objectStore === 's3' && uploads.s3 !== undefined) {
    const { S3ObjectStore } = await import('@linkforge/objectstore/s3');
    const s3 = uploads.s3;
    const store = new S3ObjectStore({
      bucket: s3.bucket,
      // One PUT carries at most 5 GiB on S3; larger files go multipart.
      maxObjectSize: Math.min(uploads.maxBytes, 5 * 1024 ** 3),
      client: {
        ...(s3.region !== undefined ? { region: s3.region } : {}),
        ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
        forcePathStyle: s3.forcePathStyle,
      },
    });
    return { store, local: undefined, close: async () => store.destroy() };
  }
  const temporary = config.dataDir === IN_MEMORY;
  const root = temporary
    ? await mkdtemp(join(tmpdir(), 'linkforge-objects-'))
    : join(config.dataDir, 'objects');
  const store = new LocalDiskObjectStore({
    root,
    secret: await localSigningKey(db),
    baseUrl: `${config.publicBaseUrl}${LOCAL_OBJECTS_PATH}`,
    maxObjectSize: uploads.maxBytes,
  });
  return {
    store,
    local: store,
    close: async () => {
      if (temporary) await rm(root, { recursive: true, force: true });
    },
  };
}

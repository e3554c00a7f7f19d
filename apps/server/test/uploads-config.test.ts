import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_UPLOAD_CONTENT_TYPES, loadConfig } from '../src/config.js';
import {
  contentTypeAllowed,
  normalizeContentType,
  cleanFileName,
} from '../src/uploads/upload-service.js';

describe('upload configuration', () => {
  it('defaults to the local store, 100 MiB, the default types and a daily sweep deadline', () => {
    const { uploads } = loadConfig({});
    expect(uploads).toMatchObject({
      objectStore: 'local',
      s3: undefined,
      maxBytes: 100 * 1024 * 1024,
      pendingTtlSeconds: 86_400,
      sweepIntervalSeconds: 600,
    });
    expect(uploads.contentTypes).toEqual(DEFAULT_UPLOAD_CONTENT_TYPES);
  });

  it('reads the S3 settings and needs a bucket', () => {
    const { uploads } = loadConfig({
      OBJECT_STORE: 's3',
      S3_BUCKET: 'media-bucket',
      S3_REGION: 'eu-west-1',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(uploads.s3).toEqual({
      bucket: 'media-bucket',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
    expect(() => loadConfig({ OBJECT_STORE: 's3' })).toThrow(/S3_BUCKET is required/);
  });

  it.each([
    [{ OBJECT_STORE: 'ftp' }, 'OBJECT_STORE'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'Bad_Bucket' }, 'S3_BUCKET'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT'],
    [{ UPLOAD_MAX_BYTES: '0' }, 'UPLOAD_MAX_BYTES'],
    [{ UPLOAD_CONTENT_TYPES: 'image/png,nonsense' }, 'UPLOAD_CONTENT_TYPES'],
    [{ UPLOAD_CONTENT_TYPES: ' , ' }, 'UPLOAD_CONTENT_TYPES'],
    [{ UPLOAD_PENDING_TTL_SECONDS: '10' }, 'UPLOAD_PENDING_TTL_SECONDS'],
  ])('refuses %o naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });

  it('matches allowed types exactly, by type/* and by *', () => {
    expect(contentTypeAllowed(['image/*'], 'image/png')).toBe(true);
    expect(contentTypeAllowed(['image/*'], 'imagex/png')).toBe(false);
    expect(contentTypeAllowed(['text/plain'], 'text/html')).toBe(false);
    expect(contentTypeAllowed(['*'], 'application/x-anything')).toBe(true);
  });

  it('normalises content types and file names before anything is signed or stored', () => {
    expect(normalizeContentType('Text/Plain; charset=UTF-8')).toBe('text/plain');
    expect(() => normalizeContentType('text')).toThrow(/not a valid media type/);
    expect(cleanFileName('C:\\Users\\me\\photo.png')).toBe('photo.png');
    expect(cleanFileName('a\u0000b\nc.txt')).toBe('abc.txt');
    expect(() => cleanFileName('../')).toThrow(/must name a file/);
  });
});

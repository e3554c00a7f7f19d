import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ObjectStoreError, type LocalDiskObjectStore } from '../../src/index.js';

/**
 * The smallest HTTP server that mounts the local store's signed PUT/GET handlers, the way
 * the link server does: query, headers and the raw request stream go in; a refusal becomes
 * its status code and the connection is closed (the unread body is not drained).
 */
export interface LocalUploadServer {
  readonly baseUrl: string;
  setStore(store: LocalDiskObjectStore): void;
  close(): Promise<void>;
}

export async function startLocalUploadServer(): Promise<LocalUploadServer> {
  let store: LocalDiskObjectStore | undefined;
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        if (store === undefined) throw new Error('no store');
        if (req.method === 'PUT') {
          const result = await store.handleSignedPut({
            query: url.searchParams,
            headers: req.headers,
            body: req,
          });
          res.writeHead(result.status, result.headers).end();
        } else if (req.method === 'GET') {
          const result = await store.handleSignedGet({ query: url.searchParams });
          res.writeHead(result.status, result.headers);
          result.body.pipe(res);
        } else {
          res.writeHead(405).end();
        }
      } catch (error) {
        const status = error instanceof ObjectStoreError ? error.status : 500;
        const code = error instanceof ObjectStoreError ? error.code : 'INTERNAL';
        res.writeHead(status, { Connection: 'close', 'Content-Type': 'text/plain' }).end(code);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/uploads/local`,
    setStore: (s) => {
      store = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

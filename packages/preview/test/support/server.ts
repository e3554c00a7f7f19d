import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A page server on 127.0.0.1 with a connection counter, so a test can prove none came. */
export interface TestServer {
  readonly port: number;
  readonly origin: string;
  readonly connections: () => number;
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, Route>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const handler = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<title>missing</title>');
      return;
    }
    handler(req, res);
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    connections: () => connections,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function html(body: string | Buffer, contentType = 'text/html; charset=utf-8'): Route {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': contentType }).end(body);
  };
}

export function redirect(location: string, status = 302): Route {
  return (_req, res) => {
    res.writeHead(status, { Location: location }).end();
  };
}

/**
 * The agent's HTTP endpoints: /metrics (Prometheus text format), /healthz (liveness: the
 * event loop answers and the agent is not broken beyond repair — a dead scorer, a consumer
 * nobody restarts — else 503, so the orchestrator restarts it), /readyz (model loaded and
 * source connected: 200, else 503 with the reason). The server starts before the model
 * loads, so a slow start has a liveness endpoint. Connections are limited in number and
 * time: idle and slow clients cannot hold the server. At the limit, a new connection is
 * let in and an idle one closed instead, the oldest of the client holding the most (one
 * that never sent a request first): a client that hogs sockets (a stray scraper, a hostile
 * peer) loses its own, and the orchestrator's probes still get through (connection-guard.ts). Port 0 picks a free port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { guardConnections } from './connection-guard.js';

export interface Readiness {
  readonly ready: boolean;
  readonly detail: Record<string, unknown>;
}

export interface Liveness {
  readonly live: boolean;
  readonly detail: Record<string, unknown>;
}

export interface TelemetryServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  /** Default: always alive. */
  readonly liveness?: () => Liveness;
  /** Most connections held at once (default 64). */
  readonly maxConnections?: number;
  /** Time to send a whole request, and idle time of a keep-alive connection (ms; default 10 000). */
  readonly requestTimeoutMs?: number;
}

/** More endpoints on the same server and limits (the evidence pages): handles its paths and returns true, or returns false. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

export class TelemetryServer {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly routes: Route[],
  ) {}

  static async create(options: TelemetryServerOptions): Promise<TelemetryServer> {
    const timeout = options.requestTimeoutMs ?? 10_000;
    const routes: Route[] = [];
    const server = createServer(
      // The request timeout is checked every connectionsCheckingInterval (Node's default, 30 s, would let slow clients stay that long).
      { requestTimeout: timeout, headersTimeout: timeout, keepAliveTimeout: Math.min(5_000, timeout), connectionsCheckingInterval: Math.min(1_000, timeout) },
      (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/metrics') {
        options.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else if (path === '/healthz') {
        const l = options.liveness?.() ?? { live: true, detail: {} };
        res.writeHead(l.live ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: l.live ? 'alive' : 'broken', ...l.detail }));
      } else if (path === '/readyz') {
        const r = options.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: r.ready, ...r.detail }));
      } else if (!routes.some((route) => route(req, res))) {
        res.writeHead(404).end();
      }
      },
    );
    guardConnections(server, options.maxConnections ?? 64);
    // A socket that sends nothing at all (not even the first header byte) is closed too.
    server.setTimeout(timeout, (socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
    return new TelemetryServer(server, routes);
  }

  /** Adds endpoints (mounted once their data exists: the server starts before the model loads). */
  mount(route: Route): void {
    this.routes.push(route);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }
}

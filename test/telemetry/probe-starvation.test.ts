/**
 * Liveness that no client can starve (issue #23): a client that holds the server's whole
 * connection budget in idle sockets, and reopens each one as soon as it is closed, used to
 * fail most /healthz checks (64 sockets: 18 of 23 failed; 100: all), and the orchestrator
 * restarted a healthy pod. Every probe must get through, and /metrics too. A kept-alive
 * connection that has served requests is not the one closed while the hog holds silent
 * sockets: closing it raced the client's next request (one probe of 23 failed in CI).
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TelemetryServer } from '../../src/telemetry/http-server.js';
import { MetricsRegistry } from '../../src/telemetry/metrics.js';

async function probe(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
}

/** Opens `count` idle sockets to `port` and reopens each one as soon as it closes; returns the stop. */
function hogSockets(port: number, count: number): () => void {
  let stopped = false;
  const held = new Set<Socket>();
  const open = () => {
    if (stopped) return;
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => {
      held.delete(s);
      setImmediate(open); // reopened at once
    });
    held.add(s);
  };
  for (let i = 0; i < count; i++) open();
  return () => {
    stopped = true;
    for (const s of held) s.destroy();
  };
}

/** Sends one GET on a raw kept-alive socket and resolves with the status line's code. */
async function getOn(socket: Socket, path: string): Promise<number> {
  let text = '';
  const answered = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(text);
      const whole = length ? text.length >= head + 4 + Number(length[1]) : text.endsWith('\r\n0\r\n\r\n'); // else chunked
      if (head >= 0 && whole) {
        socket.off('data', onData);
        resolve(Number(text.split(' ')[1]));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`socket closed before the answer to ${path}`)));
  });
  socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n\r\n`);
  return answered;
}

describe('the telemetry server under a client that hogs its connections', () => {
  it('keeps a kept-alive connection that has served requests while the hog churns silent sockets', async () => {
    const server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }), maxConnections: 64, requestTimeoutMs: 10_000 });
    const scraper = connect(server.port, '127.0.0.1');
    scraper.on('error', () => {});
    let stop = () => {};
    try {
      await once(scraper, 'connect');
      expect(await getOn(scraper, '/healthz')).toBe(200);
      stop = hogSockets(server.port, 100);
      // Hundreds of evictions happen meanwhile: each reopened hog socket closes an older one.
      await new Promise((r) => setTimeout(r, 500));
      expect(scraper.destroyed).toBe(false);
      for (let i = 0; i < 5; i++) expect(await getOn(scraper, '/healthz')).toBe(200);
    } finally {
      stop();
      scraper.destroy();
      await server.close();
    }
  });

  for (const hog of [64, 100]) {
    it(`answers every probe while one client holds ${hog} idle sockets and reopens them as they close`, async () => {
      const server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }), maxConnections: 64, requestTimeoutMs: 10_000 });
      const stop = hogSockets(server.port, hog);
      try {
        await new Promise((r) => setTimeout(r, 300));
        const statuses: number[] = [];
        for (let i = 0; i < 23; i++) {
          statuses.push(await probe(`http://127.0.0.1:${server.port}/healthz`));
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(statuses).toEqual(Array(23).fill(200));
        expect(await probe(`http://127.0.0.1:${server.port}/metrics`)).toBe(200);
      } finally {
        stop();
        await server.close();
      }
    });
  }
});

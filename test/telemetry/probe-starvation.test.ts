/**
 * Liveness that no client can starve (issue #23): a client that holds the server's whole
 * connection budget in idle sockets, and reopens each one as soon as it is closed, used to
 * fail most /healthz checks (64 sockets: 18 of 23 failed; 100: all), and the orchestrator
 * restarted a healthy pod. Every probe must get through, and /metrics too.
 */
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

describe('the telemetry server under a client that hogs its connections', () => {
  for (const hog of [64, 100]) {
    it(`answers every probe while one client holds ${hog} idle sockets and reopens them as they close`, async () => {
      const server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }), maxConnections: 64, requestTimeoutMs: 10_000 });
      let stopped = false;
      const held = new Set<Socket>();
      const open = () => {
        if (stopped) return;
        const s = connect(server.port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => {
          held.delete(s);
          setImmediate(open); // reopened at once
        });
        held.add(s);
      };
      try {
        for (let i = 0; i < hog; i++) open();
        await new Promise((r) => setTimeout(r, 300));
        const statuses: number[] = [];
        for (let i = 0; i < 23; i++) {
          statuses.push(await probe(`http://127.0.0.1:${server.port}/healthz`));
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(statuses).toEqual(Array(23).fill(200));
        expect(await probe(`http://127.0.0.1:${server.port}/metrics`)).toBe(200);
      } finally {
        stopped = true;
        for (const s of held) s.destroy();
        await server.close();
      }
    });
  }
});

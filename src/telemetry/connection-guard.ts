/**
 * A connection limit that no client can use to starve the others. Node's own
 * `server.maxConnections` refuses new connections once the limit is reached, so one client
 * holding idle sockets (and reopening them as they close) fails every liveness probe and
 * gets the pod restarted. Here a new connection is always accepted; at the limit, an idle
 * socket (no request in flight) is closed instead, the oldest of the client that holds the
 * most. Sockets busy with a request are bounded in time by the server's request timeout; if
 * every socket is busy, the new connection is the one closed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function guardConnections(server: Server, max: number): void {
  /** Open sockets in arrival order, with whether a request is in flight on each. */
  const open = new Map<Socket, { busy: boolean }>();
  server.on('connection', (socket: Socket) => {
    open.set(socket, { busy: false });
    socket.once('close', () => open.delete(socket));
    if (open.size > max) (evictable(open, socket) ?? socket).destroy();
  });
  server.on('request', (req, res) => {
    const state = open.get(req.socket);
    if (!state) return;
    state.busy = true;
    res.once('close', () => (state.busy = false));
  });
}

/** The oldest idle socket of the client with the most sockets (not `fresh`), if any. */
function evictable(open: Map<Socket, { busy: boolean }>, fresh: Socket): Socket | undefined {
  const perClient = new Map<string, number>();
  for (const s of open.keys()) perClient.set(s.remoteAddress ?? '', (perClient.get(s.remoteAddress ?? '') ?? 0) + 1);
  let best: Socket | undefined;
  let bestCount = 0;
  for (const [s, state] of open) {
    if (s === fresh || state.busy) continue;
    const count = perClient.get(s.remoteAddress ?? '') ?? 0;
    if (count > bestCount) [best, bestCount] = [s, count];
  }
  return best;
}

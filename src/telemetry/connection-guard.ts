/**
 * A connection limit that no client can use to starve the others. Node's own
 * `server.maxConnections` refuses new connections once the limit is reached, so one client
 * holding idle sockets (and reopening them as they close) fails every liveness probe and
 * gets the pod restarted. Here a new connection is always accepted; at the limit, an idle
 * socket (no request in flight) is closed instead, the oldest of the client that holds the
 * most, and among its sockets one that never sent a request before one that did: closing a
 * kept-alive socket races the client's next request on it (the request fails; fetch does
 * not retry), while a socket that never spoke is what a hog holds. Sockets busy with a
 * request are bounded in time by the server's request timeout; if every socket is busy,
 * the new connection is the one closed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface SocketState {
  /** A request is in flight. */
  busy: boolean;
  /** At least one request has been received on it. */
  spoke: boolean;
}

export function guardConnections(server: Server, max: number): void {
  /** Open sockets in arrival order. */
  const open = new Map<Socket, SocketState>();
  server.on('connection', (socket: Socket) => {
    open.set(socket, { busy: false, spoke: false });
    socket.once('close', () => open.delete(socket));
    if (open.size > max) (evictable(open, socket) ?? socket).destroy();
  });
  server.on('request', (req, res) => {
    const state = open.get(req.socket);
    if (!state) return;
    state.busy = true;
    state.spoke = true;
    res.once('close', () => (state.busy = false));
  });
}

/**
 * The socket to close for `fresh`: of the client with the most sockets, the oldest idle one
 * that never spoke, else its oldest idle one; undefined if every other socket is busy.
 */
function evictable(open: Map<Socket, SocketState>, fresh: Socket): Socket | undefined {
  const client = (s: Socket) => s.remoteAddress ?? '';
  const perClient = new Map<string, number>();
  for (const s of open.keys()) perClient.set(client(s), (perClient.get(client(s)) ?? 0) + 1);
  let best: Socket | undefined;
  let bestRank = 0;
  for (const [s, state] of open) {
    if (s === fresh || state.busy) continue;
    // The client's socket count first, then silence; map order is arrival order, so a strict comparison keeps the oldest of equals.
    const rank = 2 * (perClient.get(client(s)) ?? 0) + (state.spoke ? 0 : 1);
    if (rank > bestRank) [best, bestRank] = [s, rank];
  }
  return best;
}

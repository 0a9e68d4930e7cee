/**
 * The evidence endpoints on the telemetry server: /evidence (HTML; ?source= keeps one
 * source), /evidence/<episode> (HTML) and /evidence/<episode>.json. Camera frames are
 * sensitive: with a token configured, every request needs `Authorization: Bearer <token>`
 * (compared in constant time); a credential in the query string is refused outright, since
 * URLs end up in logs, browser history and Referer headers. /metrics and the probes never
 * pass through here.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EPISODE_ID, type EvidenceEpisode, type EvidenceIndex } from '../contracts/evidence.js';
import { episodePage, indexPage } from './evidence-page.js';

/** What the pages show: the judging stage's evidence. */
export interface EvidenceProvider {
  index(): EvidenceIndex;
  episode(id: string): EvidenceEpisode | undefined;
}

export interface EvidenceRoutesOptions {
  readonly provider: EvidenceProvider;
  /** Required bearer token; undefined: open (the server binds to loopback only). */
  readonly token?: string;
}

/** Query parameters that look like credentials: never accepted in a URL. */
const CREDENTIAL_PARAMS = ['token', 'access_token', 'bearer', 'auth', 'authorization', 'api_key', 'apikey', 'key'];

const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The handler for paths under /evidence; returns false for any other path. */
export function evidenceRoutes(o: EvidenceRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const expected = o.token === undefined ? undefined : digest(o.token);
  const send = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) =>
    res.writeHead(status, { ...HEADERS, 'content-type': type, ...extra }).end(body);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    const path = url.pathname;
    if (path !== '/evidence' && !path.startsWith('/evidence/')) return false;
    const params = [...url.searchParams.keys()].map((k) => k.toLowerCase());
    if (params.some((k) => CREDENTIAL_PARAMS.includes(k))) {
      send(res, 400, 'text/plain; charset=utf-8', 'credentials are not accepted in the URL: send the token as "Authorization: Bearer <token>"\n');
      return true;
    }
    if (expected) {
      const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) {
        send(res, 401, 'text/plain; charset=utf-8', 'the evidence pages need "Authorization: Bearer <token>" (evidence.tokenFile)\n', { 'www-authenticate': 'Bearer realm="gaia-sentinel evidence"' });
        return true;
      }
      if (!timingSafeEqual(digest(m[1]!), expected)) {
        send(res, 403, 'text/plain; charset=utf-8', 'wrong evidence token\n');
        return true;
      }
    }
    const index = o.provider.index();
    if (path === '/evidence' || path === '/evidence/') {
      const source = url.searchParams.get('source') ?? undefined;
      send(res, 200, 'text/html; charset=utf-8', indexPage(index, source));
      return true;
    }
    const m = /^\/evidence\/([^/]+?)(\.json)?$/.exec(path);
    const episode = m && EPISODE_ID.test(m[1]!) ? o.provider.episode(m[1]!) : undefined;
    if (!episode) send(res, 404, 'text/plain; charset=utf-8', 'no such episode: ended episodes are kept only while they are among the recent ones (evidence.recentEpisodes)\n');
    else if (m![2]) send(res, 200, 'application/json', JSON.stringify({ model: index.model, episode }));
    else send(res, 200, 'text/html; charset=utf-8', episodePage(index.model, episode));
    return true;
  };
}

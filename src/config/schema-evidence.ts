/**
 * evidence: the frames kept per drift episode and the /evidence pages that show them
 * (docs/OPERATIONS.md, "Evidence"). Assembled in schema.ts.
 */
export const evidenceSchema = {
  enabled: {
    doc: 'Keep the most anomalous recent frames of each source, freeze them into every drift episode and serve them at /evidence on the telemetry server; drift events then carry the episode\'s link (evidenceUrl).',
    format: 'bool',
    default: true,
    env: 'GAIA_EVIDENCE_ENABLED',
  },
  framesPerSource: { doc: 'Frames each source keeps: its most anomalous (smallest verdict p-value) within the last drift.window frames.', format: 'positive-int', default: 8, env: 'GAIA_EVIDENCE_FRAMES_PER_SOURCE' },
  sources: {
    doc: 'Most sources that keep frames at once (the first seen; a source whose episode opens takes the slot of one without an open episode).',
    format: 'positive-int',
    default: 50,
    env: 'GAIA_EVIDENCE_SOURCES',
  },
  recentEpisodes: { doc: 'Ended episodes kept for the pages (the newest).', format: 'positive-int', default: 20, env: 'GAIA_EVIDENCE_RECENT_EPISODES' },
  thumbnailSize: { doc: "Long side of a frame's thumbnail (pixels): the model's view of the frame, scaled.", format: 'positive-int', default: 96, env: 'GAIA_EVIDENCE_THUMBNAIL_SIZE' },
  publicBaseUrl: {
    doc: 'Base URL the on-call engineer reaches the agent at (e.g. https://gaia-17.example.com); drift events link to <base>/evidence/<episode>. Empty: http://<telemetry.host>:<telemetry.port>.',
    format: String,
    default: '',
    env: 'GAIA_EVIDENCE_PUBLIC_BASE_URL',
  },
  tokenFile: {
    doc: 'File holding the bearer token the evidence pages require (Authorization: Bearer <token>); required when telemetry.host is not a loopback address. /metrics and the probes stay open.',
    format: String,
    default: '',
    env: 'GAIA_EVIDENCE_TOKEN_FILE',
  },
};

/** Whether a bind address reaches only this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Camera frames are sensitive: served beyond loopback, the evidence pages need a token. */
export function evidenceRefusal(c: { readonly telemetry: { readonly host: string }; readonly evidence: { readonly enabled: boolean; readonly tokenFile: string } }): string | undefined {
  if (!c.evidence.enabled || c.evidence.tokenFile || isLoopback(c.telemetry.host)) return undefined;
  return (
    `evidence.enabled is true and telemetry.host (env GAIA_TELEMETRY_HOST) is ${c.telemetry.host}, beyond loopback: the /evidence pages show camera frames, ` +
    'so set evidence.tokenFile (env GAIA_EVIDENCE_TOKEN_FILE) to a file holding a bearer token, or turn them off with evidence.enabled false (env GAIA_EVIDENCE_ENABLED)'
  );
}

/**
 * Evidence wiring: the extra heads it asks the compiler for, the token its pages require,
 * the judging stage's evidence store (images made by frames/evidence-images.ts) and its
 * pages mounted on the telemetry server. Off (evidence.enabled false) or without a
 * telemetry server (the replay demo on a busy port), none of it exists.
 */
import { readFileSync } from 'node:fs';
import { HEAD_NAMES, type HeadName } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { EvidenceImages } from '../frames/evidence-images.js';
import { Preprocessor } from '../frames/preprocess.js';
import { Evidence } from '../judging/evidence.js';
import { evidenceHeads } from '../judging/evidence-frame.js';
import type { ModelPackage } from '../model/manifest.js';
import { tapChannels } from '../offline/zero-ratios.js';
import { evidenceRoutes } from '../telemetry/evidence-routes.js';
import type { TelemetryServer } from '../telemetry/http-server.js';

/** The heads evidence adds to the compile request when it is on (the default). */
export function evidenceCompileHeads(): HeadName[] {
  return evidenceHeads(HEAD_NAMES).filter((h) => (HEAD_NAMES as readonly string[]).includes(h)) as HeadName[];
}

/** The heads evidence adds to the compile request (none when it is off). */
export function compiledEvidenceHeads(config: Readonly<Config>): HeadName[] {
  return config.evidence.enabled ? evidenceCompileHeads() : [];
}

/** The bearer token from evidence.tokenFile (one trailing newline dropped); undefined without one. */
export function evidenceToken(config: Readonly<Config>): string | undefined {
  const file = config.evidence.tokenFile;
  if (!config.evidence.enabled || !file) return undefined;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: evidence.tokenFile (env GAIA_EVIDENCE_TOKEN_FILE) names ${file}, which cannot be read: ${(cause as Error).message}`, { cause });
  }
  if (!/^\S{16,}$/.test(token)) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `invalid configuration: the token in evidence.tokenFile (${file}) must be at least 16 characters without spaces (e.g. openssl rand -hex 32 > ${file})`,
    );
  }
  return token;
}

/** The last tap's [height, width] (NCHW), the saliency map's resolution. */
function lastTapSize(taps: ReadonlyArray<{ readonly tensor: string }>): [number, number] | undefined {
  const shape = (taps.at(-1) as { shape?: ReadonlyArray<number | string> } | undefined)?.shape;
  return shape && shape.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' ? [shape[2], shape[3]] : undefined;
}

export function openEvidence(
  config: Readonly<Config>,
  pkg: ModelPackage,
  taps: ReadonlyArray<{ readonly tensor: string }>,
  telemetry: TelemetryServer | undefined,
  token: string | undefined,
): Evidence | undefined {
  const e = config.evidence;
  if (!e.enabled || !telemetry) return undefined;
  const base = (e.publicBaseUrl || `http://${config.telemetry.host.includes(':') ? `[${config.telemetry.host}]` : config.telemetry.host}:${telemetry.port}`).replace(/\/+$/, '');
  const channels = tapChannels(taps);
  const saliencyShape = lastTapSize(taps);
  const evidence = new Evidence({
    model: pkg.manifest.name,
    framesPerSource: e.framesPerSource,
    sources: e.sources,
    recentEpisodes: e.recentEpisodes,
    window: config.drift.window,
    baseUrl: base,
    imager: new EvidenceImages(new Preprocessor(pkg.manifest, config.frames), pkg.manifest.input, e.thumbnailSize),
    ...(channels ? { tapChannels: channels } : {}),
    ...(saliencyShape ? { saliencyShape } : {}),
  });
  telemetry.mount(evidenceRoutes({ provider: evidence, ...(token === undefined ? {} : { token }) }));
  return evidence;
}

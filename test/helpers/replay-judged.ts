/**
 * A replay agent (real ONNX Runtime) over a bundled model's sample ID and OOD frames, judged
 * by `head` (model.verdictHead; '' for the calibration's verdict rule), and what its sinks
 * would publish, as the NDJSON lines of `run --json`.
 */
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface PublishedLine {
  topic: string;
  value: Record<string, unknown>;
}

export async function replayJudged(model: string, head: string, calibration: string, extra: Record<string, string> = {}): Promise<PublishedLine[]> {
  const samples = join(ROOT, 'models', model, 'samples');
  const config = loadConfig({
    env: {
      GAIA_MODEL_DIR: join(ROOT, 'models', model),
      GAIA_MODEL_VERDICT_HEAD: head,
      GAIA_CALIBRATION: calibration,
      GAIA_REPLAY_DIRS: `${join(samples, 'id')},${join(samples, 'ood')}`,
      GAIA_REPLAY_FPS: '0',
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_TELEMETRY_PORT: '0',
      GAIA_KAFKA_SCORES_TOPIC: 'gaia.scores',
      ...extra,
    },
  });
  const out: string[] = [];
  const agent = await Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }), json: true });
  await agent.run();
  return out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PublishedLine);
}

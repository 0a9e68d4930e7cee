/**
 * The topics the agent needs, prepared before its first fetch or produce: an output topic or
 * a frames topic that does not exist yet is created here with the broker's defaults (what
 * auto-creation would do on the first produce, without the "does not host this
 * topic-partition" errors a produce to a topic still electing its leader logs), and the drift
 * changelog is created compacted with as many partitions as the frames topic. A topic that
 * cannot be created stops startup naming the setting and the ACL it needs.
 */
import type { Admin } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { kafkaClient, type KafkaConnection } from './client.js';
import { kafkaError } from './errors.js';

export interface AgentTopics {
  readonly frames: string;
  /** Output topics, each with the setting that names it (alerts, scores, dead letters). */
  readonly outputs: ReadonlyArray<{ readonly topic: string; readonly setting: string }>;
  /** The drift changelog (drift.changelogTopic), when on (drift.changelog). */
  readonly changelog?: string;
}

export async function prepareTopics(c: KafkaConnection, t: AgentTopics): Promise<void> {
  const admin = kafkaClient(c).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = [{ topic: t.frames, setting: 'kafka.framesTopic (env GAIA_KAFKA_FRAMES_TOPIC)' }, ...t.outputs].filter((o) => !existing.has(o.topic));
    for (const m of missing) await create(admin, m.topic, m.setting, {});
    if (t.changelog) await prepareChangelog(admin, t.changelog, t.frames, existing.has(t.changelog));
  } catch (err) {
    throw err instanceof GaiaError ? err : kafkaError(`preparing the topics ${[t.frames, ...t.outputs.map((o) => o.topic), t.changelog ?? ''].filter(Boolean).join(', ')}`, err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The changelog: compacted, at least as many partitions as the frames topic (a source's record goes to its frames' partition). */
async function prepareChangelog(admin: Admin, changelog: string, frames: string, exists: boolean): Promise<void> {
  const wanted = (await admin.fetchTopicMetadata({ topics: [frames] })).topics[0]!.partitions.length;
  const setting = 'drift.changelogTopic (env GAIA_DRIFT_CHANGELOG_TOPIC; drift.changelog false turns it off)';
  if (!exists) {
    await create(admin, changelog, setting, { numPartitions: wanted, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] });
    return;
  }
  const have = (await admin.fetchTopicMetadata({ topics: [changelog] })).topics[0]!.partitions.length;
  if (have < wanted) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${setting} ${changelog} has ${have} partitions but ${frames} has ${wanted}: it needs at least as many (add partitions, or name a new topic)`,
    );
  }
}

async function create(admin: Admin, topic: string, setting: string, spec: { numPartitions?: number; configEntries?: Array<{ name: string; value: string }> }): Promise<void> {
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, ...spec }] });
  } catch (err) {
    if (typesOf(err).includes('TOPIC_ALREADY_EXISTS')) return; // another agent of the group was first
    const types = typesOf(err);
    const denied = types.some((x) => x.includes('AUTHORIZATION'));
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `cannot create topic ${topic} (${setting})${types.length > 0 ? ` [${types.join(', ')}]` : ''}: ${(err as Error).message}; ` +
        (denied ? `the agent's principal needs the CREATE ACL on topic ${topic} (or on the cluster), or ` : '') +
        `create it yourself${spec.configEntries ? ` (compacted, ${spec.numPartitions} partition${spec.numPartitions === 1 ? '' : 's'})` : ''}, or name another topic`,
      { cause: err },
    );
  }
}

/** The broker error types inside a kafkajs error (createTopics wraps one per topic). */
function typesOf(err: unknown): string[] {
  const out: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 4) return;
    const x = e as { type?: unknown; errors?: unknown; cause?: unknown };
    if (typeof x.type === 'string') out.push(x.type);
    if (Array.isArray(x.errors)) for (const inner of x.errors) visit(inner, depth + 1);
    visit(x.cause, depth + 1);
  };
  visit(err, 0);
  return [...new Set(out)];
}

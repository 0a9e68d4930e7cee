/**
 * A rolling restart of two agents on the real broker (issue #10, defect 9): with the sticky
 * assignment only the restarted agent's partitions move (to the other agent and back); the
 * other agent never loses one, and the group ends with the layout it started from. Under
 * kafkajs's round-robin over random member ids, a restart moved the other agent's
 * partitions too about half of the time; four restarts make that near-certain to show.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, settledAssignment, startAgent, testKafka, topicEnv, type Agent } from '../helpers/kafka-agent.js';
import { uniqueName } from '../setup/kafka-context.js';

const PARTITIONS = 4;
const kafka = testKafka('gaia-test-sticky');
const topics = agentTopics('sticky-');
const env = { GAIA_KAFKA_GROUP_ID: uniqueName('sticky'), ...topicEnv(topics), GAIA_KAFKA_SESSION_TIMEOUT_MS: '10000' };
let admin: Admin;
const agents: Agent[] = [];

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.frames, numPartitions: PARTITIONS }, { topic: topics.alerts }, { topic: topics.scores }, { topic: topics.dlq }] });
});
afterAll(async () => {
  for (const a of agents) if (a.process.exitCode === null) a.process.kill('SIGKILL');
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
  await admin.disconnect();
});

const settled = (members: number) => settledAssignment(admin, env.GAIA_KAFKA_GROUP_ID, topics.frames, PARTITIONS, members);

describe('rolling restart of two agents (real broker)', () => {
  it('moves only the restarted agent\'s partitions, and ends with the layout it started from', async () => {
    let a = startAgent(env);
    agents.push(a);
    const idA = [...(await settled(1)).keys()][0]!;
    let b = startAgent(env);
    agents.push(b);
    const first = await settled(2);
    const idB = [...first.keys()].find((id) => id !== idA)!;
    const ids = { a: idA, b: idB };
    const start = { a: first.get(ids.a)!, b: first.get(ids.b)! };
    expect(start.a).toHaveLength(2);
    let moved = 0;
    for (let round = 0; round < 2; round++) {
      for (const name of ['a', 'b'] as const) {
        const other = name === 'a' ? 'b' : 'a';
        const leaving = name === 'a' ? a : b;
        const before = (await settled(2)).get(ids[other])!;
        leaving.process.kill('SIGTERM');
        expect(await leaving.exited()).toBe(0);
        const alone = await settled(1);
        expect([...alone.keys()]).toEqual([ids[other]]); // the one that stayed kept its member id
        const next = startAgent(env);
        agents.push(next);
        const after = await settled(2);
        ids[name] = [...after.keys()].find((id) => id !== ids[other])!;
        // The one that stayed never lost a partition it had before the restart.
        expect(after.get(ids[other]), `round ${round}, restart of ${name}`).toEqual(before);
        moved += 2 * after.get(ids[name])!.length; // away to the other agent, and back
        if (name === 'a') a = next;
        else b = next;
      }
    }
    const end = await settled(2);
    expect({ a: end.get(ids.a), b: end.get(ids.b) }).toEqual(start);
    console.log(`4 restarts moved ${moved} partition assignments (the minimum: each restarted agent's 2 partitions out and back)`);
    for (const x of [a, b]) x.process.kill('SIGTERM');
    await Promise.all([a.exited(), b.exited()]);
  });
});

/**
 * The agent's TLS and SASL settings against the test broker's secure listeners (a throwaway
 * CA made at broker start): SASL_SSL (TLS + SASL/PLAIN) and SSL with mutual TLS. With the
 * CA file and the right password, or the client certificate, every frame gets its verdict;
 * a wrong password or an unreadable CA file stops the agent with an error that says so, a
 * missing client certificate shows in its log as the brokers' refusal, and the password
 * never appears in its output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, startAgent, testKafka, topicEnv, verdictIds, type Agent } from '../helpers/kafka-agent.js';
import { kafkaSecure, uniqueName } from '../setup/kafka-context.js';

const secure = kafkaSecure();
const ID = join(import.meta.dirname, '..', '..', 'models', 'fmnist-cnn', 'samples', 'id');
const FRAMES = 40;
const topics = agentTopics();
const mtlsScores = uniqueName('scores-mtls');
const kafka = testKafka('gaia-test-secure'); // the plaintext listener, to set up and read back
let admin: Admin;
const agents: Agent[] = [];

/** An agent on the SASL_SSL listener (CA file, SASL/PLAIN) unless `overrides` say otherwise. */
function secureAgent(overrides: Record<string, string> = {}, scoresTopic = topics.scores): Agent {
  const agent = startAgent({
    GAIA_KAFKA_BROKERS: secure!.broker,
    GAIA_KAFKA_SSL: 'true',
    GAIA_KAFKA_SSL_CA_FILE: secure!.caFile,
    GAIA_KAFKA_SASL_MECHANISM: 'plain',
    GAIA_KAFKA_SASL_USERNAME: secure!.username,
    GAIA_KAFKA_SASL_PASSWORD: secure!.password,
    GAIA_KAFKA_GROUP_ID: uniqueName('secure'),
    ...topicEnv({ ...topics, scores: scoresTopic }),
    ...overrides,
  });
  agents.push(agent);
  return agent;
}

describe.skipIf(!secure)('TLS + SASL/PLAIN to the brokers (real broker, SASL_SSL listener)', () => {
  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [...Object.values(topics), mtlsScores].map((topic) => ({ topic })) });
    const pngs = readdirSync(ID)
      .sort()
      .slice(0, FRAMES)
      .map((n) => readFileSync(join(ID, n)));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.frames,
      acks: -1,
      messages: pngs.map((value, i) => ({ key: 'cam', value, headers: { 'content-type': 'image/png', 'frame-id': `s-${i}` } })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    for (const a of agents) if (a.process.exitCode === null) a.process.kill('SIGKILL');
    await admin?.deleteTopics({ topics: [...Object.values(topics), mtlsScores] }).catch(() => {});
    await admin?.disconnect();
  });

  it('consumes and publishes over TLS with the CA file and SASL credentials', async () => {
    const agent = secureAgent();
    const verdicts = await collect(kafka, topics.scores, (ms) => ms.length >= FRAMES, 60_000);
    expect(new Set(verdictIds(verdicts)).size).toBe(FRAMES);
    agent.process.kill('SIGTERM');
    expect(await agent.exited(), agent.stderr().slice(-1500)).toBe(0);
    expect(agent.stderr()).not.toContain(secure!.password);
  }, 90_000);

  it('stops with an authentication error on a wrong password, without printing it', async () => {
    const wrong = 'not-the-password-7f3a';
    const agent = secureAgent({ GAIA_KAFKA_SASL_PASSWORD: wrong });
    const code = await agent.exited();
    expect(code).not.toBe(0);
    expect(agent.stderr()).toMatch(/SASL PLAIN authentication failed/i);
    expect(agent.stderr()).not.toContain(wrong);
  }, 90_000);

  it('connects with a client certificate where the brokers require mutual TLS', async () => {
    const mtls = {
      GAIA_KAFKA_BROKERS: secure!.mtlsBroker,
      GAIA_KAFKA_SSL_CERT_FILE: secure!.certFile,
      GAIA_KAFKA_SSL_KEY_FILE: secure!.keyFile,
      GAIA_KAFKA_SASL_MECHANISM: '',
    };
    const agent = secureAgent(mtls, mtlsScores);
    const verdicts = await collect(kafka, mtlsScores, (ms) => ms.length >= FRAMES, 60_000);
    expect(new Set(verdictIds(verdicts)).size).toBe(FRAMES);
    agent.process.kill('SIGTERM');
    expect(await agent.exited(), agent.stderr().slice(-1500)).toBe(0);

    // The same listener without the client certificate: the brokers refuse the handshake, and
    // the agent says so in its log while it retries (it gives up after ~2.5 min of backoff).
    // The alert is bad_certificate over TLS 1.2 and certificate_required over TLS 1.3 (which
    // one depends on the JDK's and Node's TLS versions).
    const refused = /alert (bad certificate|certificate required)/i;
    const anonymous = secureAgent({ GAIA_KAFKA_BROKERS: secure!.mtlsBroker, GAIA_KAFKA_SASL_MECHANISM: '' });
    for (let i = 0; i < 300 && !refused.test(anonymous.stderr()); i++) await sleep(100);
    expect(anonymous.stderr()).toMatch(refused);
    anonymous.process.kill('SIGKILL');
  }, 120_000);

  it('stops at startup on an unreadable CA file, naming the key', async () => {
    const agent = secureAgent({ GAIA_KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' });
    expect(await agent.exited()).not.toBe(0);
    expect(agent.stderr()).toContain('kafka.sslCaFile');
    expect(agent.stderr()).toContain('/nonexistent/ca.pem');
  }, 30_000);
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // ORT sessions are CPU-heavy; on a 2-core machine parallel files only contend.
    fileParallelism: false,
    // A real single-node Kafka broker (scripts/kafka/broker.sh), or the one KAFKA_BROKERS names.
    // Tests read it with inject('kafkaBrokers'); see test/setup/kafka-context.ts.
    globalSetup: ['test/setup/kafka.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

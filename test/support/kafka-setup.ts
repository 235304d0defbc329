/**
 * vitest globalSetup: a real Kafka broker for the tests that need one.
 *
 * It starts the dev broker (scripts/kafka/up.sh) only when the run selects a
 * test file under test/kafka/ that uses the broker helper
 * (test/support/kafka.ts), and only if nothing listens on the port already;
 * it stops the broker at teardown only if it started it. A run of other
 * tests costs one directory scan.
 *
 * It never skips a test: if the broker cannot start, the reason is provided
 * as `kafkaError`, and `useKafka()` in each broker test throws it in
 * beforeAll, so those tests fail and say why; the other tests run as usual.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { KAFKA_PORT as PORT, portOpen, runKafkaScript } from '../../scripts/kafka/broker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap brokers of the test broker. */
    kafkaBrokers: string[];
    /** Why the test broker is not there (null: it is up). */
    kafkaError: string | null;
  }
}

const ROOT = resolve(import.meta.dirname, '../..');
/** The marker of a test file that needs the broker: it calls the helper. */
const USES_BROKER = /\buseKafka\(/;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // Quiet kafkajs's v2 partitioner notice in every worker (workers inherit env).
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
  project.provide('kafkaBrokers', [`127.0.0.1:${PORT}`]);
  project.provide('kafkaError', null);
  if (!(await brokerTestsSelected(project))) return undefined;
  if (await portOpen(PORT)) return undefined; // someone's broker (npm run kafka:up): use it, leave it
  const started = await runKafkaScript('up.sh');
  if (started.error !== null) {
    project.provide('kafkaError', `the test Kafka broker did not start (bash scripts/kafka/up.sh): ${started.error}`);
    return undefined;
  }
  // up.sh waits on a lock: a broker another run started meanwhile is not ours to stop.
  if (/already running/.test(started.output)) return undefined;
  return async () => {
    const stopped = await runKafkaScript('down.sh');
    if (stopped.error !== null) console.error(`kafka-setup: could not stop the test broker: ${stopped.error}`);
  };
}

/** True if the run includes a test/kafka/ file that uses the broker. When in doubt, true. */
async function brokerTestsSelected(project: TestProject): Promise<boolean> {
  try {
    // The CLI's file filters (`vitest run test/grouping`); vitest keeps them
    // on an internal field, so fall back to "all files" if it moves.
    const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
    const { testFiles } = await project.globTestFiles(filters);
    for (const file of testFiles) {
      if (!relative(ROOT, file).startsWith('test/kafka/')) continue;
      if (USES_BROKER.test(await readFile(file, 'utf8'))) return true;
    }
    return false;
  } catch {
    return true;
  }
}

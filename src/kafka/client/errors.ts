import { SquallError } from '../../errors/index.ts';
import type { ErrorCode } from '../../errors/index.ts';

/** Every Kafka failure carries this code; `details` says what kind it is (see kafkaError). */
export const KAFKA_ERROR_CODE: ErrorCode = 'E_KAFKA';

interface KafkajsErrorShape {
  name?: string;
  message?: string;
  retriable?: boolean;
  type?: string;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * A kafkajs error as a SquallError with code `E_KAFKA` and details:
 * - `retriable`: whether the root cause is one a later retry may get past
 *   (a leader election, a missing topic that may be created); kafkajs's own
 *   retries are already spent when the call rejects.
 * - `type`: the broker's error type when there is one
 *   (`UNKNOWN_TOPIC_OR_PARTITION`, `MESSAGE_TOO_LARGE`, ...), else undefined.
 * - `kafkajsError`: the kafkajs error class name (`KafkaJSNumberOfRetriesExceeded`, ...).
 * - `topic`: the topic (or comma-separated topics) involved, if known.
 * The kafkajs error is kept as `cause`. Policy reads these fields, never the message.
 * `atConnect`: the error of a connect, where no tuple is in flight to replay.
 */
export function kafkaError(err: unknown, doing: string, topic?: string, atConnect = false): SquallError {
  if (err instanceof SquallError) return err;
  const outer = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as KafkajsErrorShape;
  // Walk to the root cause: NumberOfRetriesExceeded and friends wrap the
  // error that was retried; an aggregate (sendBatch over brokers) lists them.
  let root: KafkajsErrorShape = outer;
  for (let depth = 0; depth < 8; depth++) {
    const next = root.cause ?? (Array.isArray(root.errors) ? root.errors[0] : undefined);
    if (typeof next !== 'object' || next === null || next === root) break;
    root = next as KafkajsErrorShape;
  }
  const retriable = typeof root.retriable === 'boolean' ? root.retriable : outer.retriable === true;
  const type = root.type ?? outer.type;
  const message = root.message && root.message !== outer.message ? `${outer.message}: ${root.message}` : (outer.message ?? String(err));
  return new SquallError(
    {
      code: KAFKA_ERROR_CODE,
      message: `Kafka: could not ${doing}${topic !== undefined ? ` (topic ${topic})` : ''}: ${message}${hint(type, retriable, atConnect)}`,
      details: { retriable, type, kafkajsError: outer.name, topic },
    },
    { cause: err },
  );
}

function hint(type: string | undefined, retriable: boolean, atConnect: boolean): string {
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return '; create the topic first (squall never auto-creates topics)';
  if (atConnect) return '; check kafka.brokers and that the cluster is up';
  if (retriable) return '; the failed tuples replay, and may succeed once the cluster recovers';
  return '';
}

/**
 * Sinks with exactly-once effect in checkpoint mode: the two-phase-commit
 * base (TwoPhaseCommitSink: transactions per checkpoint, pending ones in the
 * operator state, committed when the checkpoint completes and again on a
 * restore) and an idempotent PostgreSQL upsert sink built on it. The
 * transactional KafkaBolt is in squall/kafka. See docs/exactly-once.md.
 */
export { TwoPhaseCommitSink } from './two-phase-commit.ts';
export type { PendingTransaction, TwoPhaseCommitState } from './two-phase-commit.ts';
export { PostgresUpsertSink } from './postgres-upsert.ts';
export type { PostgresUpsertSinkOptions, UpsertTransaction } from './postgres-upsert.ts';

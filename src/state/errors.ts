/** The state stores' coded errors (docs/errors.md, "State stores"). */
import { SquallError } from '../errors/index.ts';

export function badArgument(message: string, details?: Record<string, unknown>): SquallError {
  return new SquallError({ code: 'E_BAD_ARGUMENT', message, details });
}

export function badState(message: string): SquallError {
  return new SquallError({ code: 'E_BAD_STATE', message });
}

/**
 * E_STATE_CORRUPT: a file (or row) of checkpoint `checkpointId` does not
 * verify. `restorable` are the older checkpoints still intact, if known.
 */
export function corrupt(
  path: string,
  reason: string,
  checkpointId: number | null,
  restorable: readonly number[] | null,
  cause?: unknown,
): SquallError {
  const which = checkpointId === null ? '' : ` of checkpoint ${checkpointId}`;
  let hint: string;
  if (restorable === null) {
    hint =
      'Restoring from the previous checkpoint may be possible: latest({ skipCorrupt: true }) returns the newest checkpoint that verifies';
  } else if (restorable.length > 0) {
    const prev = restorable[restorable.length - 1]!;
    hint = `Restoring from the previous checkpoint ${prev} is possible: latest({ skipCorrupt: true }) returns it, or read checkpoint ${prev} directly (then begin the next checkpoint with { base: ${prev} })`;
  } else {
    hint = 'No older checkpoint is intact: the state must be rebuilt (move the state directory away to start from empty state)';
  }
  return new SquallError(
    {
      code: 'E_STATE_CORRUPT',
      message: `state file ${path}${which} is corrupt: ${reason}. ${hint}`,
      details: { path, reason, checkpointId, restorable },
    },
    cause === undefined ? undefined : { cause },
  );
}

export function noCheckpoint(checkpointId: number, retained: readonly number[], location: string): SquallError {
  return new SquallError({
    code: 'E_STATE_NO_CHECKPOINT',
    message: `checkpoint ${checkpointId} is not a completed checkpoint kept in ${location} (kept: ${retained.length === 0 ? 'none' : retained.join(', ')})`,
    details: { checkpointId, retained: [...retained], location },
  });
}

export function oldCheckpoint(checkpointId: number, latest: number, location: string): SquallError {
  return new SquallError({
    code: 'E_STATE_OLD_CHECKPOINT',
    message: `checkpoint ${checkpointId} is not above the newest checkpoint ${latest} of ${location}: checkpoint ids must increase`,
    details: { checkpointId, latest, location },
  });
}

export function fenced(checkpointId: number, expected: number | null, found: number | null, location: string): SquallError {
  return new SquallError({
    code: 'E_STATE_FENCED',
    message: `checkpoint ${checkpointId} was not committed: this writer expected ${expected === null ? 'no checkpoint' : `checkpoint ${expected}`} to be the newest in ${location}, but found ${found === null ? 'none' : `checkpoint ${found}`}. Another writer (a second run of the topology, or one that did not die) committed since: this one is stale and must stop; restore from the newest checkpoint to go on`,
    details: { checkpointId, expected, found, location },
  });
}

export function unavailable(what: string, location: string, cause: unknown): SquallError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SquallError(
    {
      code: 'E_STATE_UNAVAILABLE',
      message: `cannot reach the state store ${location}: ${what} failed: ${why}`,
      details: { location, retriable: true },
    },
    { cause },
  );
}

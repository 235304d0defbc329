/**
 * Errors as data. Every error squall raises on purpose is a SquallError with a
 * stable `code` (policy and tests read the code, never the message text), the
 * component and stream involved when there is one, and a message that says
 * what to do. An error that crosses a thread boundary loses its class: send
 * `toData()` and rebuild it with `SquallError.fromData()` on the other side.
 */
export type ErrorCode =
  // topology definition and submission
  | 'E_TOPOLOGY_EMPTY'
  | 'E_DUPLICATE_ID'
  | 'E_RESERVED_ID'
  | 'E_INVALID_ID'
  | 'E_BAD_PARALLELISM'
  | 'E_BAD_CONFIG'
  | 'E_UNKNOWN_COMPONENT'
  | 'E_UNKNOWN_STREAM'
  | 'E_UNKNOWN_FIELD'
  | 'E_DUPLICATE_FIELD'
  | 'E_DUPLICATE_STREAM'
  | 'E_SPOUT_INPUT'
  | 'E_DIRECT_GROUPING'
  | 'E_BAD_FACTORY'
  | 'E_BAD_GROUPING'
  // emits at run time
  | 'E_EMIT_UNDECLARED_STREAM'
  | 'E_EMIT_ARITY'
  | 'E_EMIT_NOT_CLONEABLE'
  | 'E_EMIT_DIRECT'
  | 'E_EMIT_BAD_TASK'
  | 'E_EMIT_BAD_ANCHOR'
  // user code, and the threads it runs on
  | 'E_COMPONENT_THREW'
  | 'E_HOST_CRASHED'
  // Kafka
  | 'E_KAFKA'
  | 'E_KAFKA_UNDESERIALIZABLE'
  | 'E_KAFKA_GAVE_UP'
  | 'E_KAFKA_UNREACHABLE'
  | 'E_KAFKA_BAD_TIMESTAMP'
  // modules and the CLI
  | 'E_MODULE_NOT_FOUND'
  | 'E_MODULE_LOAD'
  | 'E_NO_TOPOLOGY_EXPORT'
  | 'E_BAD_ARGUMENT'
  | 'E_DIR_NOT_EMPTY'
  | 'E_TYPE_ERRORS'
  | 'E_TYPECHECK_UNAVAILABLE'
  // scheduling
  | 'E_NO_ROOM'
  // state stores (src/state, docs/state.md)
  | 'E_STATE_CORRUPT'
  | 'E_STATE_NO_KEY'
  | 'E_STATE_BAD_NAME'
  | 'E_STATE_UNKNOWN_COMPONENT'
  | 'E_STATE_INCOMPATIBLE'
  | 'E_CHECKPOINT_ABORTED'
  | 'E_TUPLE_FAILED'
  | 'E_ROLLBACK_LIMIT'
  | 'E_CHECKPOINT_CYCLE'
  | 'E_STATE_FENCED'
  | 'E_STATE_OLD_CHECKPOINT'
  | 'E_STATE_NO_CHECKPOINT'
  | 'E_STATE_LOCKED'
  | 'E_STATE_UNAVAILABLE'
  // the control socket of a running topology
  | 'E_NOT_RUNNING'
  | 'E_ALREADY_RUNNING'
  | 'E_STARTING'
  | 'E_NO_REPLY'
  // the web view (src/ui, docs/ui.md)
  | 'E_UI_TOKEN'
  | 'E_UI_READ_ONLY'
  | 'E_UI_FORBIDDEN_ORIGIN'
  | 'E_UI_NOT_FOUND'
  | 'E_UI_BUSY'
  // lifecycle
  | 'E_BAD_STATE'
  | 'E_HOST_START_TIMEOUT'
  | 'E_NOT_COMPLETED'
  // windows (src/window, docs/windows.md)
  | 'E_WINDOW_TIMEOUT'
  | 'E_WINDOW_LIMIT'
  | 'E_WINDOW_BAD_TIMESTAMP'
  // invariants: a bug in squall, never an operating error
  | 'E_INVARIANT';

export interface ErrorData {
  code: ErrorCode;
  message: string;
  component?: string | undefined;
  stream?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export class SquallError extends Error {
  readonly code: ErrorCode;
  readonly component: string | undefined;
  readonly stream: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(data: ErrorData, options?: { cause?: unknown }) {
    super(data.message, options);
    this.name = 'SquallError';
    this.code = data.code;
    this.component = data.component;
    this.stream = data.stream;
    this.details = data.details;
  }

  toData(): ErrorData {
    return {
      code: this.code,
      message: this.message,
      component: this.component,
      stream: this.stream,
      details: this.details,
    };
  }

  static fromData(data: ErrorData): SquallError {
    return new SquallError(data);
  }
}

/** A broken invariant: a bug in squall, not something the user did. */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new SquallError({ code: 'E_INVARIANT', message: `squall bug: ${message}` });
  }
}

export function isSquallError(error: unknown): error is SquallError {
  return error instanceof SquallError;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * SIGINT and SIGTERM while a topology runs. The first asks for a graceful
 * stop (`first` resolves); any signal after that, or after the run began to
 * stop for another reason, calls `onForce`, which is expected to exit.
 */
export class StopSignals {
  readonly first: Promise<NodeJS.Signals>;
  private resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  private stoppingAlready = false;
  private received: NodeJS.Signals | null = null;

  constructor(private readonly onForce: (signal: NodeJS.Signals) => void) {
    this.first = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    for (const s of SIGNALS) process.on(s, this.handle);
  }

  get signal(): NodeJS.Signals | null {
    return this.received;
  }

  /** The run is stopping: from now on a signal forces the exit. */
  stopping(): void {
    this.stoppingAlready = true;
  }

  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.handle);
  }

  private readonly handle = (signal: NodeJS.Signals): void => {
    if (this.stoppingAlready) {
      this.onForce(signal);
      return;
    }
    this.stoppingAlready = true;
    this.received = signal;
    this.resolveFirst(signal);
  };
}

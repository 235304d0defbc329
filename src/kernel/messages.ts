/**
 * Control messages between tasks: tracking traffic to the ackers, outcomes
 * from the ackers to the spouts, and system signals. Data travels as Tuple.
 * One class with a numeric kind keeps the mailbox handling monomorphic.
 */
export const CTL_INIT = 1; // spout → acker: lo,hi = root; vlo,vhi = XOR of edges; task = spout task
export const CTL_ACK = 2; // bolt → acker: vlo,vhi = input id ^ out value
export const CTL_FAIL = 3; // bolt → acker
export const CTL_RESET = 4; // bolt → acker → spout: restart the tree's timeout
export const CTL_COMPLETED = 5; // acker → spout
export const CTL_FAILED = 6; // acker → spout
export const CTL_TIMED_OUT = 7; // acker → spout
export const CTL_ROTATE = 8; // clock → acker, spout: expire the oldest timeout bucket
export const CTL_ACTIVATE = 9; // run → spout
export const CTL_DEACTIVATE = 10; // run → spout

export class Ctl {
  constructor(
    public kind: number,
    public lo: number,
    public hi: number,
    public vlo: number,
    public vhi: number,
    public task: number,
  ) {}
}

export const ROTATE = new Ctl(CTL_ROTATE, 0, 0, 0, 0, -1);
export const ACTIVATE = new Ctl(CTL_ACTIVATE, 0, 0, 0, 0, -1);
export const DEACTIVATE = new Ctl(CTL_DEACTIVATE, 0, 0, 0, 0, -1);

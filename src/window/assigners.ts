/**
 * Window assigners and ready-made triggers: plain descriptions, checked
 * when made (E_BAD_CONFIG says which argument is wrong).
 */
import { SquallError } from '../errors/index.ts';
import type {
  CountWindows,
  GlobalWindows,
  SessionWindows,
  SlidingWindows,
  TriggerAction,
  TriggerContext,
  TumblingWindows,
  WindowTrigger,
} from './types.ts';

function positive(what: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `${what} must be a positive ${integer ? 'integer' : 'number of ms'}; got ${String(v)}` });
  }
  return v;
}

function offset(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `offsetMs must be a finite number of ms; got ${String(v)}` });
  }
  return v;
}

/** Tumbling windows of `sizeMs`: [k*size + offset, (k+1)*size + offset). */
export function tumbling(sizeMs: number, options: { offsetMs?: number } = {}): TumblingWindows {
  return { kind: 'tumbling', sizeMs: positive('tumbling(sizeMs)', sizeMs), offsetMs: offset(options.offsetMs) };
}

/**
 * Sliding (hopping) windows of `sizeMs` starting every `slideMs`.
 * `alignTo: 'data'` starts a key's windows at its first element's time.
 */
export function sliding(sizeMs: number, slideMs: number, options: { offsetMs?: number; alignTo?: 'epoch' | 'data' } = {}): SlidingWindows {
  positive('sliding(sizeMs)', sizeMs);
  positive('sliding(slideMs)', slideMs);
  if (slideMs > sizeMs) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `sliding(${sizeMs}, ${slideMs}): the slide is longer than the window, so some elements would fall in no window; make slideMs at most sizeMs` });
  }
  const alignTo = options.alignTo ?? 'epoch';
  if (alignTo !== 'epoch' && alignTo !== 'data') {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `sliding(): alignTo is 'epoch' or 'data'; got ${String(alignTo)}` });
  }
  return { kind: 'sliding', sizeMs, slideMs, offsetMs: offset(options.offsetMs), alignTo };
}

/** Session windows: a key's window closes after `gapMs` without an element. */
export function session(gapMs: number): SessionWindows {
  return { kind: 'session', gapMs: positive('session(gapMs)', gapMs) };
}

/** Count windows: every `slide` elements of a key (default `size`: tumbling), a window over its last `size`. */
export function countWindow(size: number, slide: number = size): CountWindows {
  positive('countWindow(size)', size, true);
  positive('countWindow(slide)', slide, true);
  if (slide > size) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `countWindow(${size}, ${slide}): the slide is larger than the window, so some elements would fall in no window; make slide at most size` });
  }
  return { kind: 'count', size, slide };
}

/** One window per key that a trigger fires and purges. */
export function globalWindow(trigger: WindowTrigger): GlobalWindows {
  if (trigger === null || typeof trigger !== 'object' || typeof trigger.onElement !== 'function') {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: 'globalWindow(trigger): give a trigger with an onElement(ctx) method (and onTimer(ctx, domain) if it registers timers), or countTrigger(n)' });
  }
  return { kind: 'global', trigger };
}

/** Fire and purge every `n` elements of a key. */
export function countTrigger(n: number): WindowTrigger {
  positive('countTrigger(n)', n, true);
  return {
    onElement: (ctx: TriggerContext): TriggerAction => (ctx.count >= n ? 'fire-and-purge' : 'continue'),
  };
}

/**
 * Fire and purge when the watermark passes `every` ms boundaries of event
 * time (a key's window fires at the end of the period its first element
 * falls in): a tumbling window written as a trigger.
 */
export function eventTimeTrigger(everyMs: number): WindowTrigger {
  positive('eventTimeTrigger(everyMs)', everyMs);
  return {
    onElement(ctx: TriggerContext): TriggerAction {
      if (ctx.count === 1) ctx.registerTimer(Math.floor(ctx.time / everyMs) * everyMs + everyMs - 1, 'event');
      return 'continue';
    },
    onTimer: (_ctx: TriggerContext, domain): TriggerAction => (domain === 'event' ? 'fire-and-purge' : 'continue'),
  };
}

// What a path knows of a value: the classes that decide a later branch or tell a caller what a return
// meant. The lock analysis keeps one per variable (and per tested expression); kernel convention gives
// the meaning of a return from the class and the function's return type (0 or a pointer: success;
// a negative errno, ERR_PTR() or NULL: failure).

/**
 * - `zero`: 0, NULL, false.
 * - `error`: a negative errno, ERR_PTR()/PTR_ERR(), or a value tested `< 0`.
 * - `status`: a call's result tested non-zero (`ret = f(); if (ret) …`): an error code for an int.
 * - `nonzero`: true, a positive literal, a pointer known non-NULL.
 * - `result`: a call's result not tested yet.
 */
export type ValueClass = 'zero' | 'error' | 'status' | 'nonzero' | 'result';

/** How a function's return value is read: `int` (0 success), pointer and bool (non-zero success). */
export type ReturnKind = 'int' | 'pointer' | 'bool' | 'void';

export type Meaning = 'success' | 'failure';

const ZERO = /^(?:0+|0x0+|NULL|false)[uUlL]*$/;
const POSITIVE = /^(?:[1-9]\d*|0x[0-9a-fA-F]*[1-9a-fA-F][0-9a-fA-F]*|true)[uUlL]*$/;
/** `-ENOMEM`, `-1`: at the start of an expression, an error code. */
const NEGATIVE = /^-\s*(?:E[A-Z0-9_]+|\d+)/;
const ERROR_CALL = /^(?:ERR_PTR|ERR_CAST|PTR_ERR)\s*\(/;

/** The class of a literal or an error-making expression; undefined when the text alone does not tell. */
export function literalClass(text: string): ValueClass | undefined {
  const t = text.trim();
  if (ZERO.test(t)) return 'zero';
  if (NEGATIVE.test(t) || ERROR_CALL.test(t)) return 'error';
  if (POSITIVE.test(t)) return 'nonzero';
  return undefined;
}

/** The truth of a literal alone (numbers, NULL, true/false, a negative error code); undefined otherwise. */
export function constantTruth(text: string): boolean | undefined {
  const t = text.trim();
  if (ZERO.test(t)) return false;
  if (POSITIVE.test(t) || NEGATIVE.exec(t)?.[0].length === t.length) return true;
  return undefined;
}

/** Whether a value of this class tests true; undefined when it may be either. */
export function truthOf(value: ValueClass | undefined): boolean | undefined {
  if (value === undefined || value === 'result') return undefined;
  return value !== 'zero';
}

/**
 * The class on the edge where the value tested `truth` (`negative`: the test was `x < 0`); null when the
 * edge is infeasible for what was known.
 */
export function refine(known: ValueClass | undefined, truth: boolean, negative = false): ValueClass | null {
  const wasTrue = truthOf(known);
  if (wasTrue !== undefined && wasTrue !== truth) return null;
  if (!truth) return 'zero';
  if (negative) return 'error';
  if (known === 'result') return 'status';
  return known ?? 'nonzero';
}

/** What a returned value of this class means to the caller, when convention tells. */
export function meaningOf(value: ValueClass | undefined, kind: ReturnKind): Meaning | undefined {
  if (value === 'error') return 'failure';
  if (value === 'zero') return kind === 'int' ? 'success' : kind === 'void' ? undefined : 'failure';
  if (value === 'status') return kind === 'int' ? 'failure' : kind === 'void' ? undefined : 'success';
  if (value === 'nonzero') return kind === 'int' || kind === 'void' ? undefined : 'success';
  return undefined;
}

/** Where two paths meet, what both know; undefined when they disagree. */
export function joinClasses(a: ValueClass | undefined, b: ValueClass | undefined): ValueClass | undefined {
  if (a === b) return a;
  if ((a === 'status' && b === 'error') || (a === 'error' && b === 'status')) return 'status';
  return undefined;
}

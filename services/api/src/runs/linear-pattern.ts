import { RE2JS } from '@bufbuild/re2';

/*
 * The regular-expression engine of every JSON Schema a tenant or a flow hands the control plane
 * (`pattern`, `patternProperties`, `propertyNames`). JavaScript's own engine backtracks: `^(a+)+$`
 * against 30 `a`s and a `!` held the event loop 35 s. RE2 (here @bufbuild/re2, pure JavaScript and
 * synchronous) matches in time linear in the input, and has no backreferences or lookaround, so a
 * pattern it cannot compile is refused when the schema is saved (schema-budget.ts).
 *
 * Linear is not cheap: when RE2's DFA gives up (over 10,000 states, five times) its NFA costs up to
 * ~80–400 ns per character per program instruction (measured: `^[ab]*a[ab]{999}$`, 1,006
 * instructions, took 826 ms on 10,000 random `a`/`b`s). So every test is charged its characters ×
 * instructions against the validation's budget (`PATTERN_WORK_PER_VALIDATION`), and a test past
 * it throws PatternBudgetExceeded instead of running.
 *
 * re2-wasm (also installed, by @kubernetes-models) was not chosen: its WebAssembly heap is fixed at
 * 16 MiB and aborts the whole process when a match needs more (`^[ab]*a[ab]{999}$` over 1 MiB did),
 * its compiled patterns are never freed, and it was slower on the same inputs.
 */

/** Most characters × RE2 program instructions one validation may spend on patterns (≈0.1–0.4 s at worst). */
export const PATTERN_WORK_PER_VALIDATION = 1_000_000;

/** Charged per instruction when a pattern is compiled again during a validation (compiling costs ~5 µs an instruction). */
const COMPILE_WORK_PER_INSTRUCTION = 50;

/** A compiled pattern whose DFA grew past this many states is dropped after the validation, freeing it. */
const DFA_STATES_KEPT = 256;

export class PatternBudgetExceeded extends Error {
  override readonly name = 'PatternBudgetExceeded';
}

export class UnsupportedPattern extends Error {
  override readonly name = 'UnsupportedPattern';
}

interface Meter {
  left: number;
  used: Set<LinearPattern>;
}

/** The budget of the validation under way; validation is synchronous, so one at a time. */
let meter: Meter | null = null;

/**
 * Runs `validate` with a fresh budget of PATTERN_WORK_PER_VALIDATION and answers what it answers.
 * A pattern test past the budget throws PatternBudgetExceeded out of `validate`.
 */
export function withPatternBudget<T>(validate: () => T): T {
  const outer = meter;
  const mine: Meter = { left: PATTERN_WORK_PER_VALIDATION, used: new Set() };
  meter = mine;
  try {
    return validate();
  } finally {
    meter = outer;
    for (const pattern of mine.used) pattern.trim();
  }
}

/**
 * Rewrites the escapes of ECMAScript's `u`-mode syntax that RE2 spells differently: `\uXXXX`
 * (a surrogate pair becomes its code point) and `\u{X…}` become `\x{…}`, `\cA` becomes `\x01`.
 * Everything else is RE2 syntax already or is refused by RE2.
 */
export function toRe2Syntax(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch !== '\\' || i + 1 >= pattern.length) {
      out += ch;
      continue;
    }
    const next = pattern[i + 1];
    const hex4 = next === 'u' ? /^[0-9A-Fa-f]{4}/.exec(pattern.slice(i + 2, i + 6)) : null;
    if (hex4) {
      let code = Number.parseInt(hex4[0], 16);
      let length = 6;
      const low = /^\\u([Dd][C-Fc-f][0-9A-Fa-f]{2})/.exec(pattern.slice(i + 6, i + 12));
      if (code >= 0xd800 && code <= 0xdbff && low?.[1]) {
        code = 0x10000 + ((code - 0xd800) << 10) + (Number.parseInt(low[1], 16) - 0xdc00);
        length = 12;
      }
      out += `\\x{${code.toString(16)}}`;
      i += length - 1;
      continue;
    }
    const braced = next === 'u' ? /^\{([0-9A-Fa-f]{1,6})\}/.exec(pattern.slice(i + 2, i + 10)) : null;
    if (braced?.[1]) {
      out += `\\x{${braced[1]}}`;
      i += 1 + braced[0].length;
      continue;
    }
    const control = next === 'c' ? pattern[i + 2] : undefined;
    if (control !== undefined && /[A-Za-z]/.test(control)) {
      out += `\\x${(control.toUpperCase().charCodeAt(0) - 64).toString(16).padStart(2, '0')}`;
      i += 2;
      continue;
    }
    out += ch + next;
    i += 1;
  }
  return out;
}

/** Compiles `pattern` with RE2, or throws UnsupportedPattern saying why (backreference, lookaround, …). */
export function compileRe2(pattern: string): RE2JS {
  try {
    return RE2JS.compile(toRe2Syntax(pattern));
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new UnsupportedPattern(
      `the pattern ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)} is not supported by RE2, the linear-time engine schemas are checked with (${reason}); backreferences and lookaround are not available`,
      { cause: error },
    );
  }
}

/** The size of a compiled pattern: its RE2 program's instructions. */
export function instructions(re: RE2JS): number {
  return re.re2().prog.numInst();
}

/** What Ajv holds for a pattern: RE2 underneath, each test charged against the validation's budget. */
export class LinearPattern {
  readonly source: string;
  readonly size: number;
  #re: RE2JS | null;

  constructor(source: string) {
    this.source = source;
    this.#re = compileRe2(source);
    this.size = instructions(this.#re);
  }

  test(input: string): boolean {
    let re = this.#re;
    const cost = (input.length + 1) * this.size + (re ? 0 : this.size * COMPILE_WORK_PER_INSTRUCTION);
    if (meter) {
      meter.left -= cost;
      if (meter.left < 0) throw new PatternBudgetExceeded();
      meter.used.add(this);
    }
    if (!re) {
      re = compileRe2(this.source);
      this.#re = re;
    }
    return re.test(input);
  }

  /** Drops the compiled program when its DFA cache grew large, so idle validators do not hold it. */
  trim(): void {
    const dfa = this.#re?.re2().dfa;
    if (dfa && (dfa.failed || dfa.stateCount > DFA_STATES_KEPT)) this.#re = null;
  }

  toString(): string {
    return this.source;
  }
}

/** Ajv's `code.regExp` option: how it makes a RegExp-like object for a schema's pattern. */
export const linearRegExp = Object.assign((pattern: string, _flags: string) => new LinearPattern(pattern), {
  code: 'linearRegExp',
});

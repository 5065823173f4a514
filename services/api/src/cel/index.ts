import { type CelValue, celEnv, isCelError, isCelList, isCelMap, isCelUint, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { estimateCost, overBudget } from './cost.js';

/*
 * CEL (https://cel.dev) is the one expression language of events: trigger filters, wait matches,
 * webhook templates and action parameters. Expressions are compiled when they are saved (a deploy,
 * an automation, a webhook), so a mistake is a 422 naming the line and column, never a trigger
 * that silently never fires. Cost is bounded twice: when an expression is saved its worst case is
 * estimated and refused over a budget (cost.ts), and the control plane evaluates it in a thread pool
 * under a deadline (sandbox.ts), never on the event loop that answers requests.
 */

export const MAX_EXPRESSION_LENGTH = 2000;
/** `{{ }}` expressions one template may hold, and the characters of its JSON: a template's cost is theirs together. */
export const MAX_TEMPLATE_EXPRESSIONS = 100;
export const MAX_TEMPLATE_LENGTH = 32 * 1024;

/** Where and why an expression does not compile; `line` and `column` count from 1. */
export interface CelProblem {
  message: string;
  line: number;
  column: number;
}

export class CelCompileError extends Error {
  constructor(readonly problem: CelProblem) {
    super(`${problem.message} (line ${problem.line}, column ${problem.column})`);
    this.name = 'CelCompileError';
  }
}

/** A runtime failure (a missing field, a type mismatch): the expression is fine, this input is not. */
export class CelEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelEvaluationError';
  }
}

export interface CelProgram {
  readonly source: string;
  /** The value of the expression for these variables (JSON: ints as numbers, maps as objects). */
  evaluate(variables: Record<string, unknown>): unknown;
  /** `evaluate` as a filter: true only for a boolean true; an evaluation error is not a match. */
  matches(variables: Record<string, unknown>): boolean;
}

const env = celEnv({ funcs: strings });

function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

type AnyExpr = { id: bigint; exprKind: { case: string | undefined; value?: unknown } };

/**
 * The identifiers an expression reads that it does not bind itself (a macro's loop variable is
 * bound), each with its source offset, so an unknown variable is a compile error with a position.
 */
function freeIdentifiers(root: AnyExpr, positions: Record<string, number>): { name: string; offset: number }[] {
  const found: { name: string; offset: number }[] = [];
  const walk = (node: AnyExpr | undefined, bound: ReadonlySet<string>): void => {
    if (!node) return;
    const { case: kind, value } = node.exprKind as { case: string | undefined; value: Record<string, unknown> };
    switch (kind) {
      case 'identExpr': {
        const name = value.name as string;
        if (!bound.has(name)) found.push({ name, offset: positions[String(node.id)] ?? 0 });
        return;
      }
      case 'selectExpr':
        walk(value.operand as AnyExpr, bound);
        return;
      case 'callExpr':
        walk(value.target as AnyExpr | undefined, bound);
        for (const arg of value.args as AnyExpr[]) walk(arg, bound);
        return;
      case 'listExpr':
        for (const element of value.elements as AnyExpr[]) walk(element, bound);
        return;
      case 'structExpr':
        for (const entry of value.entries as { mapKey?: AnyExpr; value?: AnyExpr }[]) {
          walk(entry.mapKey, bound);
          walk(entry.value, bound);
        }
        return;
      case 'comprehensionExpr': {
        walk(value.iterRange as AnyExpr, bound);
        walk(value.accuInit as AnyExpr, bound);
        const inner = new Set(bound);
        for (const key of ['iterVar', 'iterVar2', 'accuVar']) {
          const name = value[key];
          if (typeof name === 'string' && name !== '') inner.add(name);
        }
        walk(value.loopCondition as AnyExpr, inner);
        walk(value.loopStep as AnyExpr, inner);
        walk(value.result as AnyExpr, inner);
        return;
      }
      default:
        return;
    }
  };
  walk(root, new Set());
  return found;
}

/** CEL values back to JSON: ints become numbers (strings beyond 2^53), maps objects, lists arrays. */
export function celToJson(value: CelValue | unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (isCelUint(value)) return celToJson(value.value);
  if (isCelList(value)) return [...value].map(celToJson);
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of value) out[String(celToJson(key))] = celToJson(entry);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value === undefined) return null;
  return value;
}

/**
 * Compiles an expression over the given variable names (`['event']`). Throws CelCompileError with
 * the position of a syntax error or of the first variable it does not know.
 */
export function compileCel(source: string, variables: readonly string[]): CelProgram {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new CelCompileError({ message: `longer than ${MAX_EXPRESSION_LENGTH} characters`, line: 1, column: 1 });
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (error) {
    const e = error as { rawMessage?: string; message?: string; location?: { start?: { line: number; column: number } } };
    const start = e.location?.start;
    throw new CelCompileError({
      message: e.rawMessage ?? e.message ?? 'not a CEL expression',
      line: start?.line ?? 1,
      column: start?.column ?? 1,
    });
  }
  const positions: Record<string, number> = {};
  for (const [id, offset] of Object.entries(parsed.sourceInfo?.positions ?? {})) positions[id] = Number(offset);
  const estimate = estimateCost(parsed.expr);
  const budget = overBudget(estimate);
  if (budget) {
    const culprit = estimate.culprit;
    const where = lineColumn(source, culprit === null ? 0 : (positions[String(culprit)] ?? 0));
    throw new CelCompileError({ message: budget, ...where });
  }
  const known = new Set(variables);
  const unknown = freeIdentifiers(parsed.expr as unknown as AnyExpr, positions).find((i) => !known.has(i.name));
  if (unknown) {
    const where = lineColumn(source, unknown.offset);
    const names = variables.map((v) => `"${v}"`).join(', ');
    throw new CelCompileError({ message: `unknown variable "${unknown.name}" (use ${names})`, ...where });
  }
  const run = plan(env, parsed);
  const evaluate = (bindings: Record<string, unknown>): unknown => {
    const result = run(bindings as never);
    if (isCelError(result)) throw new CelEvaluationError(result.message);
    return celToJson(result);
  };
  return {
    source,
    evaluate,
    matches(bindings) {
      try {
        return evaluate(bindings) === true;
      } catch {
        return false;
      }
    },
  };
}

// ---- templates: JSON whose strings may hold `{{ expression }}` ----

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;

export interface CelTemplate {
  render(variables: Record<string, unknown>): unknown;
}

/** Where in a template a compile error is: the JSON path of the string (`parameters.path`) and the problem. */
export class CelTemplateError extends Error {
  constructor(
    readonly path: string,
    readonly problem: CelProblem,
  ) {
    super(`${path ? `${path}: ` : ''}${problem.message} (line ${problem.line}, column ${problem.column})`);
    this.name = 'CelTemplateError';
  }
}

/**
 * Compiles a JSON template. A string that is exactly one `{{ expr }}` becomes the expression's value
 * with its type (`"{{ event.payload.count }}"` → 3); any other string with placeholders becomes a
 * string with each value interpolated. Positions in errors count within the string.
 */
export function compileTemplate(template: unknown, variables: readonly string[], path = ''): CelTemplate {
  if (path === '') assertTemplateSize(template);
  if (typeof template === 'string') {
    const pieces: (string | CelProgram)[] = [];
    let last = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      const index = match.index ?? 0;
      if (index > last) pieces.push(template.slice(last, index));
      const inner = match[1] ?? '';
      try {
        pieces.push(compileCel(inner.trim(), variables));
      } catch (error) {
        if (!(error instanceof CelCompileError)) throw error;
        const leading = inner.length - inner.trimStart().length;
        const offset = index + 2 + leading + lineOffset(inner.trim(), error.problem);
        throw new CelTemplateError(path, { message: error.problem.message, ...lineColumn(template, offset) });
      }
      last = index + match[0].length;
    }
    if (last < template.length) pieces.push(template.slice(last));
    if (pieces.length === 1 && typeof pieces[0] !== 'string' && pieces[0]) {
      const only = pieces[0];
      return { render: (vars) => only.evaluate(vars) };
    }
    if (pieces.every((p) => typeof p === 'string')) return { render: () => template };
    return {
      render: (vars) =>
        pieces
          .map((p) => {
            if (typeof p === 'string') return p;
            const value = p.evaluate(vars);
            return typeof value === 'string' ? value : JSON.stringify(value);
          })
          .join(''),
    };
  }
  if (Array.isArray(template)) {
    const items = template.map((item, i) => compileTemplate(item, variables, joinPath(path, String(i))));
    return { render: (vars) => items.map((item) => item.render(vars)) };
  }
  if (template !== null && typeof template === 'object') {
    const entries = Object.entries(template).map(
      ([key, value]) => [key, compileTemplate(value, variables, joinPath(path, key))] as const,
    );
    return { render: (vars) => Object.fromEntries(entries.map(([key, item]) => [key, item.render(vars)])) };
  }
  return { render: () => template };
}

/** Refuses a template over MAX_TEMPLATE_LENGTH characters or MAX_TEMPLATE_EXPRESSIONS expressions. */
function assertTemplateSize(template: unknown): void {
  const text = JSON.stringify(template) ?? '';
  if (text.length > MAX_TEMPLATE_LENGTH) {
    throw new CelTemplateError('', {
      message: `the template is longer than ${MAX_TEMPLATE_LENGTH} characters`,
      line: 1,
      column: 1,
    });
  }
  const expressions = text.match(/\{\{/g)?.length ?? 0;
  if (expressions > MAX_TEMPLATE_EXPRESSIONS) {
    throw new CelTemplateError('', {
      message: `the template holds ${expressions} expressions; at most ${MAX_TEMPLATE_EXPRESSIONS} are allowed`,
      line: 1,
      column: 1,
    });
  }
}

function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The offset in `source` of a problem's line and column. */
function lineOffset(source: string, problem: CelProblem): number {
  const lines = source.split('\n');
  let offset = 0;
  for (let i = 0; i < problem.line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1;
  return offset + problem.column - 1;
}

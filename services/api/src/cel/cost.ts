/*
 * The save-time budget of a CEL expression. CEL has no loops and no recursion, but its macros
 * (`all`, `exists`, `exists_one`, `map`, `filter`) nest, and nesting multiplies: seven nested
 * `.all()` over a ten-item list visit 10^7 elements from a 221-character expression. CEL's own
 * implementations estimate a worst-case cost from the expression before it runs (cel-go's
 * `checker.Cost`, Kubernetes' `maxLength` assumptions); @bufbuild/cel has no estimator, so this is
 * one in the same spirit: every node costs one step, a call to a string function costs
 * STRING_CALL_COST (it walks its string), and a macro costs its body times the size of what it
 * iterates — the number of elements of a list written in the expression, or ASSUMED_LIST_SIZE for a
 * list read from the event. An expression whose estimate passes MAX_COST, that nests macros more
 * than MAX_MACRO_NESTING deep, or whose tree is deeper than MAX_DEPTH, is refused when it is saved.
 * The estimate is a first line only: evaluation also runs under a deadline (cel/sandbox.ts),
 * because an event's real lists can be longer than assumed.
 */

/** The cost an expression may be estimated at: about ten milliseconds of evaluation in the sandbox. */
export const MAX_COST = 1_000_000;
/** Elements assumed in a list or map the expression reads from its variables. */
export const ASSUMED_LIST_SIZE = 100;
/** Macros inside macros, at most. */
export const MAX_MACRO_NESTING = 3;
/** Depth of the expression's tree, at most (nested calls, operators and parentheses). */
export const MAX_DEPTH = 64;
/** What one call of a function that walks a string costs. */
const STRING_CALL_COST = 10;

const STRING_FUNCTIONS = new Set([
  'matches',
  'contains',
  'startsWith',
  'endsWith',
  'charAt',
  'indexOf',
  'lastIndexOf',
  'lowerAscii',
  'upperAscii',
  'replace',
  'split',
  'substring',
  'trim',
  'join',
  'format',
  'quote',
  'size',
  '_+_',
]);

export interface CostEstimate {
  cost: number;
  /** The deepest nesting of macros. */
  macroNesting: number;
  /** The depth of the tree. */
  depth: number;
  /** The id of the outermost macro over the nesting or cost budget, for a position. */
  culprit: bigint | null;
}

type Node = { id: bigint; exprKind: { case: string | undefined; value?: unknown } };

interface Measure {
  cost: number;
  /** Elements the node's value has, when it is a list or map; ASSUMED_LIST_SIZE when unknown. */
  size: number;
  nesting: number;
  depth: number;
}

const LEAF: Measure = { cost: 1, size: ASSUMED_LIST_SIZE, nesting: 0, depth: 1 };

function combine(parts: Measure[], own: number, size = ASSUMED_LIST_SIZE): Measure {
  let cost = own;
  let nesting = 0;
  let depth = 0;
  for (const p of parts) {
    cost += p.cost;
    nesting = Math.max(nesting, p.nesting);
    depth = Math.max(depth, p.depth);
  }
  return { cost, size, nesting, depth: depth + 1 };
}

/** The estimate of a parsed expression (`parse(source).expr`). */
export function estimateCost(root: unknown): CostEstimate {
  let culprit: bigint | null = null;
  const measure = (node: Node | undefined): Measure => {
    if (!node) return { cost: 0, size: 0, nesting: 0, depth: 0 };
    const { case: kind, value } = node.exprKind as { case: string | undefined; value: Record<string, unknown> };
    switch (kind) {
      case 'constExpr':
      case 'identExpr':
        return LEAF;
      case 'selectExpr':
        return combine([measure(value.operand as Node)], 1);
      case 'callExpr': {
        const parts = [measure(value.target as Node | undefined), ...(value.args as Node[]).map(measure)];
        const own = STRING_FUNCTIONS.has(value.function as string) ? STRING_CALL_COST : 1;
        return combine(parts, own);
      }
      case 'listExpr': {
        const elements = value.elements as Node[];
        return combine(elements.map(measure), 1, elements.length);
      }
      case 'structExpr': {
        const entries = value.entries as { mapKey?: Node; value?: Node }[];
        return combine(
          entries.flatMap((e) => [measure(e.mapKey), measure(e.value)]),
          1,
          entries.length,
        );
      }
      case 'comprehensionExpr': {
        const range = measure(value.iterRange as Node);
        const init = measure(value.accuInit as Node);
        const condition = measure(value.loopCondition as Node);
        const step = measure(value.loopStep as Node);
        const result = measure(value.result as Node);
        const body = condition.cost + step.cost;
        const nesting = 1 + Math.max(range.nesting, condition.nesting, step.nesting, result.nesting);
        const cost = range.cost + init.cost + range.size * body + result.cost;
        const depth = 1 + Math.max(range.depth, init.depth, condition.depth, step.depth, result.depth);
        // Post-order: the last macro over budget is the outermost, where the expression should change.
        if (nesting > MAX_MACRO_NESTING || cost > MAX_COST) culprit = node.id;
        // `map` and `filter` yield at most as many elements as they read.
        return { cost, size: range.size, nesting, depth };
      }
      default:
        return LEAF;
    }
  };
  const m = measure(root as Node);
  return { cost: m.cost, macroNesting: m.nesting, depth: m.depth, culprit };
}

/** Why the estimate is over budget, as a user reads it; null when it is within. */
export function overBudget(estimate: CostEstimate): string | null {
  if (estimate.depth > MAX_DEPTH) {
    return `the expression nests ${estimate.depth} levels deep; at most ${MAX_DEPTH} are allowed`;
  }
  if (estimate.macroNesting > MAX_MACRO_NESTING) {
    return `the expression nests ${estimate.macroNesting} macros (all, exists, exists_one, map, filter) inside each other; at most ${MAX_MACRO_NESTING} are allowed`;
  }
  if (estimate.cost > MAX_COST) {
    return `the expression's estimated cost ${estimate.cost} is over the budget of ${MAX_COST} (each macro multiplies its body by the size of its list, assumed ${ASSUMED_LIST_SIZE} for a list read from the event)`;
  }
  return null;
}

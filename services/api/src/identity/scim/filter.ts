import { SCIM_FILTER_TERMS_MAX, type ScimErrorType } from '@outpost/sdk/contracts';
import { scimBadRequest } from '../../http/scim-errors.js';

/*
 * SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2): a small recursive-descent parser over
 * text already bounded in length (SCIM_FILTER_MAX_CHARS, SCIM_PATH_MAX_CHARS), with the nesting of
 * parentheses and brackets bounded too, so parsing is linear and shallow whatever is sent. `and` and
 * `or` chains are built without nesting, so the comparisons one filter holds are bounded as it is
 * parsed (SCIM_FILTER_TERMS_MAX), and what walks a filter takes a chain as a list (`terms`): no
 * recursion deeper than the parentheses. Operators and attribute names are case-insensitive; values
 * are JSON literals.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'compare'; attr: string; op: CompareOp; value: FilterValue }
  | { kind: 'present'; attr: string }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; inner: FilterNode }
  /** `emails[type eq "work"]`: the inner filter holds for some value of the multi-valued attribute. */
  | { kind: 'complex'; attr: string; filter: FilterNode };

/** A PATCH path: an attribute, or a value selection filter of a multi-valued one, and a sub-attribute. */
export interface PatchPath {
  /** `name.givenName`, `urn:…:User:manager`, `members`, … (as written). */
  attr: string;
  filter: FilterNode | null;
  /** The sub-attribute after a value filter: `emails[type eq "work"].value` → `value`. */
  sub: string | null;
}

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
/** Parentheses and brackets one filter may nest. */
const MAX_NESTING = 10;
/** What an attribute path is made of: names, sub-attributes after dots, URN prefixes with colons. */
const ATTR_PATH = /^[A-Za-z$][\w$:.-]*$/;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'punct'; text: string; at: number };

class Parser {
  #tokens: Token[];
  #pos = 0;
  #depth = 0;
  #terms = 0;

  constructor(
    readonly text: string,
    readonly errorType: ScimErrorType,
    readonly what: string,
  ) {
    this.#tokens = this.#tokenize();
  }

  fail(message: string, at?: number): never {
    const where = at === undefined ? '' : ` at character ${at + 1}`;
    throw scimBadRequest(
      this.errorType,
      `the ${this.what} "${this.text}" is not one this service provider reads: ${message}${where}`,
    );
  }

  #tokenize(): Token[] {
    const tokens: Token[] = [];
    const text = this.text;
    let i = 0;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        i++;
      } else if ('()[]'.includes(c)) {
        tokens.push({ kind: 'punct', text: c, at: i });
        i++;
      } else if (c === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        if (j >= text.length) this.fail('a string is not closed', i);
        try {
          tokens.push({ kind: 'string', value: JSON.parse(text.slice(i, j + 1)) as string, at: i });
        } catch {
          this.fail('a string has an invalid escape', i);
        }
        i = j + 1;
      } else {
        let j = i;
        while (j < text.length && !' \t\n\r()[]"'.includes(text[j] as string)) j++;
        tokens.push({ kind: 'word', text: text.slice(i, j), at: i });
        i = j;
      }
    }
    return tokens;
  }

  peek(): Token | undefined {
    return this.#tokens[this.#pos];
  }

  next(): Token | undefined {
    return this.#tokens[this.#pos++];
  }

  done(): boolean {
    return this.#pos >= this.#tokens.length;
  }

  #isWord(token: Token | undefined, word: string): boolean {
    return token?.kind === 'word' && token.text.toLowerCase() === word;
  }

  #expectPunct(text: string): void {
    const token = this.next();
    if (token?.kind !== 'punct' || token.text !== text) this.fail(`expected "${text}"`, token?.at ?? this.text.length);
  }

  #enter(at: number): void {
    if (++this.#depth > MAX_NESTING) this.fail(`it nests more than ${MAX_NESTING} levels deep`, at);
  }

  /** Counts a comparison (or `pr`) as it is read: a filter holds at most SCIM_FILTER_TERMS_MAX. */
  #term(at: number): void {
    if (++this.#terms > SCIM_FILTER_TERMS_MAX)
      this.fail(`it holds more than ${SCIM_FILTER_TERMS_MAX} comparisons, the most one filter may`, at);
  }

  /** filter := and ('or' and)* */
  filter(): FilterNode {
    let left = this.#and();
    while (this.#isWord(this.peek(), 'or')) {
      this.next();
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): FilterNode {
    let left = this.#atom();
    while (this.#isWord(this.peek(), 'and')) {
      this.next();
      left = { kind: 'and', left, right: this.#atom() };
    }
    return left;
  }

  #atom(): FilterNode {
    const token = this.next();
    if (!token) this.fail('it ends where a comparison was expected', this.text.length);
    if (token.kind === 'punct' && token.text === '(') {
      this.#enter(token.at);
      const inner = this.filter();
      this.#expectPunct(')');
      this.#depth--;
      return inner;
    }
    if (this.#isWord(token, 'not')) {
      const open = this.peek();
      if (open?.kind !== 'punct' || open.text !== '(') this.fail('"not" is followed by a parenthesised filter', open?.at);
      return { kind: 'not', inner: this.#atom() };
    }
    if (token.kind !== 'word' || !ATTR_PATH.test(token.text)) this.fail('expected an attribute name', token.at);
    const attr = token.text;
    const after = this.peek();
    if (after?.kind === 'punct' && after.text === '[') {
      this.next();
      this.#enter(after.at);
      const filter = this.filter();
      this.#expectPunct(']');
      this.#depth--;
      return { kind: 'complex', attr, filter };
    }
    this.#term(token.at);
    const op = this.next();
    if (op?.kind !== 'word') this.fail(`expected an operator after "${attr}"`, op?.at ?? this.text.length);
    const name = op.text.toLowerCase();
    if (name === 'pr') return { kind: 'present', attr };
    if (!COMPARE_OPS.has(name)) this.fail(`"${op.text}" is not an operator`, op.at);
    return { kind: 'compare', attr, op: name as CompareOp, value: this.#value() };
  }

  #value(): FilterValue {
    const token = this.next();
    if (!token) this.fail('it ends where a value was expected', this.text.length);
    if (token.kind === 'string') return token.value;
    if (token.kind === 'word') {
      const word = token.text.toLowerCase();
      if (word === 'true') return true;
      if (word === 'false') return false;
      if (word === 'null') return null;
      if (/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(token.text) && token.text.length <= 30) return Number(token.text);
    }
    return this.fail('a value is a quoted string, a number, true, false or null', token.at);
  }

  /** path := attrPath | attrPath '[' filter ']' ('.' subAttr)? */
  path(): PatchPath {
    const token = this.next();
    if (token?.kind !== 'word' || !ATTR_PATH.test(token.text)) this.fail('expected an attribute name', token?.at ?? 0);
    const attr = token.text;
    let filter: FilterNode | null = null;
    let sub: string | null = null;
    const open = this.peek();
    if (open?.kind === 'punct' && open.text === '[') {
      this.next();
      this.#enter(open.at);
      filter = this.filter();
      this.#expectPunct(']');
      this.#depth--;
      const rest = this.peek();
      if (rest) {
        if (rest.kind !== 'word' || !/^\.[A-Za-z$][\w$-]*$/.test(rest.text))
          this.fail('expected ".subAttribute" after "]"', rest.at);
        sub = rest.text.slice(1);
        this.next();
      }
    }
    if (!this.done()) this.fail('unexpected text', this.peek()?.at);
    return { attr, filter, sub };
  }
}

/** A list's `filter`, or a 400 invalidFilter naming what is wrong. */
export function parseFilter(text: string): FilterNode {
  const parser = new Parser(text, 'invalidFilter', 'filter');
  if (parser.done()) parser.fail('it is empty');
  const node = parser.filter();
  if (!parser.done()) parser.fail('unexpected text', parser.peek()?.at);
  return node;
}

/** A PATCH operation's `path`, or a 400 invalidPath naming what is wrong. */
export function parsePatchPath(text: string): PatchPath {
  return new Parser(text, 'invalidPath', 'path').path();
}

/**
 * The operands of a chain of `kind` (`a and b and (c and d)` → a, b, c, d), in order; anything else
 * is a chain of one. Iterative: a chain's length never reaches the stack.
 */
export function terms(node: FilterNode, kind: 'and' | 'or'): FilterNode[] {
  const found: FilterNode[] = [];
  const pending = [node];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if ((next.kind === 'and' || next.kind === 'or') && next.kind === kind) pending.push(next.right, next.left);
    else found.push(next);
  }
  return found;
}

/** Whether a filter is only `eq` comparisons joined by `and`: what an add or replace may make a value from. */
export function equalities(node: FilterNode): { attr: string; value: FilterValue }[] | null {
  const made: { attr: string; value: FilterValue }[] = [];
  for (const term of terms(node, 'and')) {
    if (term.kind !== 'compare' || term.op !== 'eq') return null;
    made.push({ attr: term.attr, value: term.value });
  }
  return made;
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value.toLowerCase();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).toLowerCase();
  return null;
}

/** The value of `attr` in a complex value (sub-attribute names are case-insensitive). */
function attributeOf(item: Record<string, unknown>, attr: string): unknown {
  // Values this service provider made carry canonical names: the direct lookup is the common case.
  if (Object.hasOwn(item, attr)) return item[attr];
  const wanted = attr.toLowerCase();
  for (const [key, value] of Object.entries(item)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * Whether a value filter holds for one value of a multi-valued attribute (`members[value eq "…"]`).
 * Text compares regardless of case: none of the sub-attributes it selects on is case-exact.
 */
export function matches(node: FilterNode, item: unknown): boolean {
  if (item === null || typeof item !== 'object') {
    // A simple multi-valued attribute's value is selected by the name `value`.
    return matches(node, { value: item });
  }
  const record = item as Record<string, unknown>;
  switch (node.kind) {
    // A chain is walked as a list, so recursion goes only as deep as the filter's parentheses.
    case 'and':
      return terms(node, 'and').every((term) => matches(term, record));
    case 'or':
      return terms(node, 'or').some((term) => matches(term, record));
    case 'not':
      return !matches(node.inner, item);
    case 'present': {
      const value = attributeOf(record, node.attr);
      return value !== undefined && value !== null && value !== '';
    }
    case 'complex':
      return false;
    case 'compare': {
      const actual = attributeOf(record, node.attr);
      if (node.value === null) return node.op === 'eq' ? actual == null : node.op === 'ne' ? actual != null : false;
      if (typeof node.value === 'boolean') {
        const flag = typeof actual === 'string' ? actual.toLowerCase() === 'true' : actual === true;
        return node.op === 'eq' ? flag === node.value : node.op === 'ne' ? flag !== node.value : false;
      }
      const a = text(actual);
      const b = text(node.value) as string;
      if (a === null) return node.op === 'ne';
      switch (node.op) {
        case 'eq':
          return a === b;
        case 'ne':
          return a !== b;
        case 'co':
          return a.includes(b);
        case 'sw':
          return a.startsWith(b);
        case 'ew':
          return a.endsWith(b);
        case 'gt':
          return a > b;
        case 'ge':
          return a >= b;
        case 'lt':
          return a < b;
        case 'le':
          return a <= b;
      }
    }
  }
}

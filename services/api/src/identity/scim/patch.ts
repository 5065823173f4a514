import { groupDigits, SCIM_PATH_MAX_CHARS, type ScimPatchOperation } from '@outpost/sdk/contracts';
import { ScimProblem, scimBadRequest } from '../../http/scim-errors.js';
import { type AttributeDef, type ResourceSchema, resolveAttribute, subAttribute } from './attributes.js';
import { equalities, type FilterNode, matches, type PatchPath, parsePatchPath, terms } from './filter.js';

/*
 * PATCH (RFC 7644 §3.5.2) applied to a resource as a JSON document: the route renders the stored
 * resource, applies every operation here in order, validates the result as it would a PUT's body and
 * stores it the same way, so a PATCH can make nothing a PUT could not. What directories send that the
 * RFC leaves open is taken as they mean it:
 * - op names in any case ("Replace", Entra ID), and an operation without a path whose value is an
 *   object of attributes, each key read as a path (`{"active": false}`, `{"name.givenName": "Ann"}`);
 *   keys this service provider does not keep, or may not change, are ignored there, as in a POST;
 * - an add or replace through a value filter of `eq` comparisons that selects nothing adds a value
 *   made of those comparisons (`emails[type eq "work"].value`, as Entra ID sends for a new address);
 *   a replace of whole values that selects nothing is a 400 noTarget;
 * - a remove of a multi-valued attribute with a `value` removes those values only (Entra ID's way of
 *   removing group members), and a remove whose filter selects nothing changes nothing.
 *
 * Cost (invariant 7). Every bound of the request is checked before the organisation's lock is taken
 * (the contract's SCIM_PATCH_* limits, and compilePatch parses every path, so a filter of too many
 * comparisons is refused there). Applying is then linear in what was sent plus the resource's size:
 * a multi-valued attribute (a group's members) is held as an index by value while operations add,
 * replace or remove whole values, or remove through a chain of `value eq` comparisons (every form
 * directories send), so each value sent is one lookup, never a walk of the group. Only a filter of
 * another kind walks the values, each value once per operation, at the cost of its comparisons; those
 * walks count against PATCH_WALK_STEPS_MAX, past which the PATCH is refused whole (400 tooMany). The
 * work yields to the event loop (setImmediate) whenever it has run PATCH_SLICE_MS, so no tick of it
 * blocks other tenants' requests for longer. At the bounds (1,000 operations of 50-comparison `value
 * eq` filters against a 10,000-member group) that is 50,000 lookups, where it was 500 million comparisons.
 */

type Obj = Record<string, unknown>;

/**
 * How long applying a PATCH runs before it yields to the event loop, in milliseconds: other
 * requests wait at most this long for it (the finding was 2 s of blocked loop under a 2 s budget).
 */
export const PATCH_SLICE_MS = 4;
/**
 * Values walked by filters other than a chain of `value eq`, times their comparisons, in one PATCH.
 * 2 million is about 100 ms of work, in slices: 200 operations of a 1-comparison filter through a
 * 10,000-member group, or 4 of 50 comparisons. No directory sends such filters against members
 * (they name members by value, which costs no walk); a user's emails or phone numbers hold at most
 * 10 values, so a PATCH of a person never comes near it.
 */
export const PATCH_WALK_STEPS_MAX = 2_000_000;
/** Steps between two looks at the clock. */
const STEPS_PER_CHECK = 512;

const isObject = (value: unknown): value is Obj => value !== null && typeof value === 'object' && !Array.isArray(value);

/** One operation, its path parsed before the organisation's lock is taken. */
export interface CompiledOperation {
  op: ScimPatchOperation['op'];
  /** null without a path: the value is an object of attributes, each key read as a path. */
  path: PatchPath | null;
  /** The path as written, for messages. */
  written: string;
  value: unknown;
}

/** Yields to the event loop, so a long PATCH is many short ticks. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Every path of the operations parsed (a filter of too many comparisons or a malformed path is a 400
 * here, before any work), and each key of a value without a path checked to be as long as a path may be.
 */
export async function compilePatch(operations: readonly ScimPatchOperation[]): Promise<CompiledOperation[]> {
  const compiled: CompiledOperation[] = [];
  let slice = performance.now();
  for (const [index, operation] of operations.entries()) {
    if (performance.now() - slice > PATCH_SLICE_MS) {
      await yieldToLoop();
      slice = performance.now();
    }
    const written = pathOf(operation);
    if (written === null) {
      if (isObject(operation.value)) {
        for (const key of Object.keys(operation.value)) {
          if (key.length > SCIM_PATH_MAX_CHARS) {
            throw scimBadRequest(
              'invalidPath',
              `Operations.${index}: an attribute of the value is longer than ${groupDigits(SCIM_PATH_MAX_CHARS)} characters, the most a path may be`,
            );
          }
        }
      }
      compiled.push({ op: operation.op, path: null, written: '', value: operation.value });
      continue;
    }
    let path: PatchPath;
    try {
      path = parsePatchPath(written);
    } catch (error) {
      if (error instanceof ScimProblem)
        throw scimBadRequest(error.scimType ?? 'invalidPath', `Operations.${index}: ${error.detail}`);
      throw error;
    }
    compiled.push({ op: operation.op, path, written, value: operation.value });
  }
  return compiled;
}

/** The attribute an operation acts on, and where its value lives. */
interface Target {
  /** The object holding the attribute: the resource, or its extension's object. */
  container: Obj;
  attribute: AttributeDef;
  sub: AttributeDef | null;
  filter: FilterNode | null;
  /** The path as written, for messages. */
  path: string;
}

/** An extension named as a whole (`urn:…:enterprise:2.0:User`) is a complex attribute of its sub-attributes. */
function extensionAttribute(urn: string, attributes: AttributeDef[]): AttributeDef {
  return {
    name: urn,
    type: 'complex',
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    subAttributes: attributes,
  };
}

/** Keys of a complex value under their sub-attribute's name (`Value` → `value`); others as sent. */
function canonical(attribute: AttributeDef, value: unknown): unknown {
  if (attribute.type !== 'complex' || !isObject(value)) return value;
  const out: Obj = {};
  for (const [key, inner] of Object.entries(value)) out[subAttribute(attribute, key)?.name ?? key] = inner;
  return out;
}

/** What makes two values of a multi-valued attribute the same: their `value`, regardless of case. */
function identity(item: unknown): string {
  if (isObject(item) && (typeof item.value === 'string' || typeof item.value === 'number'))
    return `v:${String(item.value).toLowerCase()}`;
  if (typeof item === 'string') return `v:${item.toLowerCase()}`;
  return `j:${JSON.stringify(item)}`;
}

/** The comparisons and `pr` tests a filter holds: what testing one value against it costs. */
function comparisons(filter: FilterNode): number {
  let count = 0;
  const pending = [filter];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.kind === 'and' || node.kind === 'or') pending.push(node.left, node.right);
    else if (node.kind === 'not') pending.push(node.inner);
    else if (node.kind === 'complex') pending.push(node.filter);
    else count++;
  }
  return count;
}

/** The test a value filter makes of each value, compiled once per operation. */
interface Selector {
  test: (item: unknown) => boolean;
  /** The identities a chain of `value eq "…"` names (how directories name members); null for any other filter. */
  identities: Set<string> | null;
  /** Steps one value's test costs. */
  cost: number;
}

function selector(filter: FilterNode): Selector {
  const chain = terms(filter, 'or');
  const named = chain.every(
    (term) =>
      term.kind === 'compare' && term.op === 'eq' && term.attr.toLowerCase() === 'value' && typeof term.value === 'string',
  );
  if (named) {
    const wanted = new Set(chain.map((term) => (term.kind === 'compare' ? String(term.value).toLowerCase() : '')));
    return {
      test: (item) => isObject(item) && typeof item.value === 'string' && wanted.has(item.value.toLowerCase()),
      identities: new Set([...wanted].map((value) => `v:${value}`)),
      cost: 1,
    };
  }
  return { test: (item) => matches(filter, item), identities: null, cost: comparisons(filter) };
}

/** An operation's path; null without one, when its value is an object of attributes, each key read as a path. */
function pathOf(operation: ScimPatchOperation): string | null {
  return operation.path === undefined || operation.path.trim() === '' ? null : operation.path;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

export class PatchApplier {
  /** Multi-valued attributes held as an index by identity while operations change whole values: container → name → index. */
  readonly #indexes = new Map<Obj, Map<string, Map<string, unknown>>>();
  #steps = 0;
  #walked = 0;
  #slice = performance.now();

  constructor(
    readonly schema: ResourceSchema,
    readonly doc: Obj,
  ) {}

  /** Applies the operations in order to `doc` (changed in place); a failing one refuses the whole PATCH. */
  async apply(operations: readonly CompiledOperation[]): Promise<Obj> {
    for (const [index, operation] of operations.entries()) {
      if (this.#due(1)) await this.#rest();
      if (operation.path === null) await this.#withoutPath(operation, index);
      else await this.#withPath(operation.op, operation.path, operation.written, operation.value, index);
    }
    for (const [container, byName] of this.#indexes) for (const name of byName.keys()) this.#flush(container, name);
    // An extension left without attributes is not answered as an empty object.
    for (const extension of this.schema.extensions) {
      const held = this.doc[extension.urn];
      if (isObject(held) && Object.keys(held).length === 0) delete this.doc[extension.urn];
    }
    return this.doc;
  }

  /** Counts `steps` of work: true when it has run PATCH_SLICE_MS since it last yielded (a sync check, so a step costs no promise). */
  #due(steps: number): boolean {
    this.#steps += steps;
    if (this.#steps < STEPS_PER_CHECK) return false;
    this.#steps = 0;
    return performance.now() - this.#slice > PATCH_SLICE_MS;
  }

  /** Yields to the event loop, and starts a new slice. */
  async #rest(): Promise<void> {
    await yieldToLoop();
    this.#slice = performance.now();
  }

  /** A walk of `values` values by a filter of `cost` comparisons; past PATCH_WALK_STEPS_MAX the PATCH is refused. */
  #walk(values: number, cost: number, index: number): void {
    this.#walked += values * cost;
    if (this.#walked > PATCH_WALK_STEPS_MAX) {
      throw scimBadRequest(
        'tooMany',
        `Operations.${index}: the PATCH's value filters would test more than ${groupDigits(PATCH_WALK_STEPS_MAX)} values, the most one PATCH may: name values with "value eq" comparisons, or send smaller PATCHes`,
      );
    }
  }

  /** The index of a multi-valued attribute, made from its values once; null when two of its values are the same (kept as a list). */
  async #indexed(container: Obj, name: string): Promise<Map<string, unknown> | null> {
    const held = this.#indexes.get(container)?.get(name);
    if (held) return held;
    const index = new Map<string, unknown>();
    for (const item of list(container[name])) {
      if (this.#due(1)) await this.#rest();
      const id = identity(item);
      if (index.has(id)) return null;
      index.set(id, item);
    }
    this.#held(container, name, index);
    return index;
  }

  #held(container: Obj, name: string, index: Map<string, unknown>): void {
    const byName = this.#indexes.get(container) ?? new Map<string, Map<string, unknown>>();
    byName.set(name, index);
    this.#indexes.set(container, byName);
  }

  /** Writes an index back as the attribute's list, before anything reads the list. */
  #flush(container: Obj, name: string): void {
    const index = this.#indexes.get(container)?.get(name);
    if (!index) return;
    this.#indexes.get(container)?.delete(name);
    this.#setList(container, name, [...index.values()]);
  }

  async #withoutPath(operation: CompiledOperation, index: number): Promise<void> {
    if (operation.op === 'remove')
      throw scimBadRequest('noTarget', `Operations.${index}: a remove names the attribute to remove in "path"`);
    if (!isObject(operation.value)) {
      throw scimBadRequest(
        'invalidValue',
        `Operations.${index}: an ${operation.op} without a path takes an object of attributes as its value`,
      );
    }
    for (const [key, value] of Object.entries(operation.value)) {
      if (this.#due(1)) await this.#rest();
      try {
        await this.#withPath(operation.op, parsePatchPath(key), key, value, index);
      } catch (error) {
        // As in a POST, attributes this service provider does not keep (or that are its own) are ignored.
        if (error instanceof ScimProblem && (error.scimType === 'invalidPath' || error.scimType === 'mutability')) continue;
        throw error;
      }
    }
  }

  #target(parsed: PatchPath, path: string, index: number): Target | null {
    const resolved = resolveAttribute(this.schema, parsed.attr);
    if (!resolved)
      throw scimBadRequest('invalidPath', `Operations.${index}: "${path}" names no attribute this service provider keeps`);
    let container = this.doc;
    let attribute = resolved.attribute;
    if (resolved.extension !== null) {
      const attributes = this.schema.extensions.find((e) => e.urn === resolved.extension)?.attributes ?? [];
      if (attribute === null) {
        attribute = extensionAttribute(resolved.extension, attributes);
      } else {
        const held = this.doc[resolved.extension];
        container = isObject(held) ? held : {};
        this.doc[resolved.extension] = container;
      }
    }
    if (attribute === null) throw scimBadRequest('invalidPath', `Operations.${index}: "${path}" names no attribute`);
    let sub = resolved.sub;
    if (parsed.filter !== null) {
      if (!attribute.multiValued || sub !== null) {
        throw scimBadRequest(
          'invalidPath',
          `Operations.${index}: "${path}": a value filter selects values of a multi-valued attribute`,
        );
      }
      if (parsed.sub !== null) {
        sub = subAttribute(attribute, parsed.sub) ?? null;
        if (!sub)
          throw scimBadRequest(
            'invalidPath',
            `Operations.${index}: "${path}": "${attribute.name}" has no sub-attribute "${parsed.sub}"`,
          );
      }
    }
    // A password is not kept (changePassword is not supported): changing it changes nothing.
    if (attribute.mutability === 'writeOnly') return null;
    if (attribute.mutability === 'readOnly' || sub?.mutability === 'readOnly') {
      throw scimBadRequest('mutability', `Operations.${index}: "${path}" is read-only`);
    }
    return { container, attribute, sub, filter: parsed.filter, path };
  }

  async #withPath(op: ScimPatchOperation['op'], parsed: PatchPath, path: string, value: unknown, index: number): Promise<void> {
    const target = this.#target(parsed, path, index);
    if (!target) return;
    if (await this.#byIndex(op, target, value)) return;
    // Anything else reads the attribute as a list: an index of it is written back first.
    this.#flush(target.container, target.attribute.name);
    if (op === 'remove') {
      await this.#remove(target, value, index);
      return;
    }
    // A null value leaves the attribute unassigned, as a null in a PUT does.
    if (value === undefined) throw scimBadRequest('invalidValue', `Operations.${index}: an ${op} of "${path}" takes a value`);
    if (value === null) {
      await this.#remove(target, undefined, index);
      return;
    }
    if (target.filter !== null) {
      await this.#throughFilter(op, target, value, index);
      return;
    }
    const { container, attribute, sub } = target;
    const key = attribute.name;
    if (sub !== null) {
      if (attribute.multiValued) {
        throw scimBadRequest(
          'invalidPath',
          `Operations.${index}: "${path}" names a sub-attribute of every value: select the values with a filter, as in ${attribute.name}[type eq "work"].${sub.name}`,
        );
      }
      const parent = isObject(container[key]) ? (container[key] as Obj) : {};
      parent[sub.name] = value;
      container[key] = parent;
      return;
    }
    if (attribute.multiValued) {
      const kept = op === 'add' ? list(container[key]) : [];
      const seen = new Set<string>();
      for (const item of kept) {
        if (this.#due(1)) await this.#rest();
        seen.add(identity(item));
      }
      for (const sent of list(value)) {
        if (this.#due(1)) await this.#rest();
        const item = canonical(attribute, sent);
        const id = identity(item);
        if (seen.has(id)) continue;
        seen.add(id);
        kept.push(item);
      }
      container[key] = kept;
      return;
    }
    // A complex value takes the sub-attributes given and keeps the others (RFC 7644 §3.5.2.1, §3.5.2.3).
    if (attribute.type === 'complex' && isObject(value) && isObject(container[key])) {
      container[key] = { ...(container[key] as Obj), ...(canonical(attribute, value) as Obj) };
      return;
    }
    container[key] = canonical(attribute, value);
  }

  /**
   * An operation on whole values of a multi-valued complex attribute, applied to its index: an add or
   * replace of values, a remove of values named in `value`, of every value, or of those a chain of
   * `value eq` names. Each value sent is one lookup. False when the operation is not of these forms
   * (or the attribute holds two same values), and nothing was done.
   */
  async #byIndex(op: ScimPatchOperation['op'], target: Target, value: unknown): Promise<boolean> {
    const { container, attribute, sub, filter } = target;
    if (!attribute.multiValued || attribute.type !== 'complex' || sub !== null) return false;
    const name = attribute.name;
    if (filter !== null) {
      if (op !== 'remove') return false;
      const named = selector(filter).identities;
      if (named === null) return false;
      const index = await this.#indexed(container, name);
      if (index === null) return false;
      for (const id of named) index.delete(id);
      return true;
    }
    if (value === null || (op === 'remove' && value === undefined)) {
      this.#held(container, name, new Map());
      return true;
    }
    if (op === 'remove') {
      const index = await this.#indexed(container, name);
      if (index === null) return false;
      // Entra ID removes group members by naming them in the value of a remove of `members`.
      for (const item of list(value)) {
        if (this.#due(1)) await this.#rest();
        index.delete(identity(canonical(attribute, item)));
      }
      return true;
    }
    if (value === undefined) return false;
    const index = op === 'replace' ? new Map<string, unknown>() : await this.#indexed(container, name);
    if (index === null) return false;
    for (const sent of list(value)) {
      if (this.#due(1)) await this.#rest();
      const item = canonical(attribute, sent);
      const id = identity(item);
      if (!index.has(id)) index.set(id, item);
    }
    this.#held(container, name, index);
    return true;
  }

  async #throughFilter(op: 'add' | 'replace', target: Target, value: unknown, index: number): Promise<void> {
    const { container, attribute, sub, filter, path } = target;
    const key = attribute.name;
    const items = list(container[key]);
    const selected = selector(filter as FilterNode);
    this.#walk(items.length, selected.cost, index);
    let found = false;
    for (let i = 0; i < items.length; i++) {
      if (this.#due(selected.cost)) await this.#rest();
      const item = items[i];
      if (!selected.test(item)) continue;
      found = true;
      if (sub !== null) {
        if (isObject(item)) item[sub.name] = value;
      } else if (op === 'replace') {
        items[i] = canonical(attribute, value);
      } else if (isObject(item) && isObject(value)) {
        Object.assign(item, canonical(attribute, value));
      }
    }
    if (!found) {
      const made = equalities(filter as FilterNode);
      if (made === null || (op === 'replace' && sub === null)) {
        throw scimBadRequest('noTarget', `Operations.${index}: the filter of "${path}" selects no value`);
      }
      const item: Obj = {};
      for (const { attr, value: v } of made) item[subAttribute(attribute, attr)?.name ?? attr] = v;
      if (sub !== null) item[sub.name] = value;
      else if (isObject(value)) Object.assign(item, canonical(attribute, value));
      items.push(item);
    }
    container[key] = items;
  }

  async #remove(target: Target, value: unknown, index: number): Promise<void> {
    const { container, attribute, sub, filter } = target;
    const key = attribute.name;
    if (filter === null && sub === null) {
      if (attribute.multiValued && value !== undefined && value !== null) {
        const gone = new Set<string>();
        for (const item of list(value)) {
          if (this.#due(1)) await this.#rest();
          gone.add(identity(canonical(attribute, item)));
        }
        const kept: unknown[] = [];
        for (const item of list(container[key])) {
          if (this.#due(1)) await this.#rest();
          if (!gone.has(identity(item))) kept.push(item);
        }
        this.#setList(container, key, kept);
      } else {
        delete container[key];
      }
      return;
    }
    if (filter === null) {
      if (attribute.multiValued) {
        throw scimBadRequest('invalidPath', `"${target.path}": select the values whose ${sub?.name} to remove with a filter`);
      }
      const parent = container[key];
      if (isObject(parent) && sub !== null) {
        delete parent[sub.name];
        if (Object.keys(parent).length === 0) delete container[key];
      }
      return;
    }
    const selected = selector(filter);
    const items = list(container[key]);
    this.#walk(items.length, selected.cost, index);
    const kept: unknown[] = [];
    for (const item of items) {
      if (this.#due(selected.cost)) await this.#rest();
      if (sub === null) {
        if (!selected.test(item)) kept.push(item);
      } else if (isObject(item) && selected.test(item)) {
        delete item[sub.name];
      }
    }
    if (sub === null) this.#setList(container, key, kept);
  }

  /** A multi-valued attribute left without values is unassigned (RFC 7644 §3.5.2.2). */
  #setList(container: Obj, key: string, items: unknown[]): void {
    if (items.length === 0) delete container[key];
    else container[key] = items;
  }
}

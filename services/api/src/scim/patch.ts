import { groupDigits, SCIM_PATH_MAX_CHARS, type ScimPatchOperation } from '@outpost/sdk/contracts';
import { type AttributeDef, type ResourceSchema, resolveAttribute, subAttribute } from './attributes.js';
import { ScimProblem, scimBadRequest } from './errors.js';
import { equalities, type FilterNode, matches, parsePatchPath } from './filter.js';

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
 * Every operation is applied within APPLY_BUDGET_MS of the request's start; past it the PATCH is
 * refused whole, so a large group patched a thousand times over takes bounded time on the event loop.
 * The deadline is checked before each operation, each key of an operation without a path, and every
 * STEPS_PER_CHECK values of a multi-valued attribute walked, so no one operation runs past it either.
 */

type Obj = Record<string, unknown>;

/** How long applying one PATCH's operations may take, in milliseconds of the event loop. */
export const APPLY_BUDGET_MS = 2_000;
/** Values of a multi-valued attribute walked between two looks at the clock. */
const STEPS_PER_CHECK = 256;

const isObject = (value: unknown): value is Obj => value !== null && typeof value === 'object' && !Array.isArray(value);

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

/**
 * The test a value filter makes of each value, compiled once per operation: `value eq "…"` (how
 * directories name a member) compares one field, anything else is evaluated in full.
 */
function selector(filter: FilterNode): (item: unknown) => boolean {
  if (
    filter.kind === 'compare' &&
    filter.op === 'eq' &&
    filter.attr.toLowerCase() === 'value' &&
    typeof filter.value === 'string'
  ) {
    const wanted = filter.value.toLowerCase();
    return (item) => isObject(item) && typeof item.value === 'string' && item.value.toLowerCase() === wanted;
  }
  return (item) => matches(filter, item);
}

/** An operation's path; null without one, when its value is an object of attributes, each key read as a path. */
function pathOf(operation: ScimPatchOperation): string | null {
  return operation.path === undefined || operation.path.trim() === '' ? null : operation.path;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

export class PatchApplier {
  readonly #deadline: number;
  #steps = 0;

  constructor(
    readonly schema: ResourceSchema,
    readonly doc: Obj,
    started = performance.now(),
  ) {
    this.#deadline = started + APPLY_BUDGET_MS;
  }

  /** Applies the operations in order to `doc` (changed in place); a failing one refuses the whole PATCH. */
  apply(operations: readonly ScimPatchOperation[]): Obj {
    // Before any is applied: the keys of a value without a path are paths, and as long as a path may be.
    operations.forEach((operation, index) => {
      if (pathOf(operation) !== null || !isObject(operation.value)) return;
      for (const key of Object.keys(operation.value)) {
        if (key.length > SCIM_PATH_MAX_CHARS) {
          throw scimBadRequest(
            'invalidPath',
            `Operations.${index}: an attribute of the value is longer than ${groupDigits(SCIM_PATH_MAX_CHARS)} characters, the most a path may be`,
          );
        }
      }
    });
    operations.forEach((operation, index) => {
      this.#inTime(index);
      const path = pathOf(operation);
      if (path === null) this.#withoutPath(operation, index);
      else this.#withPath(operation.op, path, operation.value, index);
    });
    // An extension left without attributes is not answered as an empty object.
    for (const extension of this.schema.extensions) {
      const held = this.doc[extension.urn];
      if (isObject(held) && Object.keys(held).length === 0) delete this.doc[extension.urn];
    }
    return this.doc;
  }

  /** Refuses the PATCH once it has taken longer than APPLY_BUDGET_MS; `index` is the operation being applied. */
  #inTime(index: number): void {
    if (performance.now() > this.#deadline) {
      throw new ScimProblem(
        'validation_failed',
        null,
        `applying the PATCH took longer than ${APPLY_BUDGET_MS} ms, its limit, by operation ${index + 1}: send the change in smaller PATCHes`,
      );
    }
  }

  /** One value of a multi-valued attribute walked: every STEPS_PER_CHECK of them, the deadline is checked. */
  #step(index: number): void {
    if (++this.#steps % STEPS_PER_CHECK === 0) this.#inTime(index);
  }

  #withoutPath(operation: ScimPatchOperation, index: number): void {
    if (operation.op === 'remove')
      throw scimBadRequest('noTarget', `Operations.${index}: a remove names the attribute to remove in "path"`);
    if (!isObject(operation.value)) {
      throw scimBadRequest(
        'invalidValue',
        `Operations.${index}: an ${operation.op} without a path takes an object of attributes as its value`,
      );
    }
    for (const [key, value] of Object.entries(operation.value)) {
      this.#inTime(index);
      try {
        this.#withPath(operation.op, key, value, index);
      } catch (error) {
        // As in a POST, attributes this service provider does not keep (or that are its own) are ignored.
        if (error instanceof ScimProblem && (error.scimType === 'invalidPath' || error.scimType === 'mutability')) continue;
        throw error;
      }
    }
  }

  #target(path: string, index: number): Target | null {
    const parsed = parsePatchPath(path);
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

  #withPath(op: ScimPatchOperation['op'], path: string, value: unknown, index: number): void {
    const target = this.#target(path, index);
    if (!target) return;
    if (op === 'remove') {
      this.#remove(target, value, index);
      return;
    }
    // A null value leaves the attribute unassigned, as a null in a PUT does.
    if (value === undefined) throw scimBadRequest('invalidValue', `Operations.${index}: an ${op} of "${path}" takes a value`);
    if (value === null) {
      this.#remove(target, undefined, index);
      return;
    }
    if (target.filter !== null) {
      this.#throughFilter(op, target, value, index);
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
        this.#step(index);
        seen.add(identity(item));
      }
      for (const sent of list(value)) {
        this.#step(index);
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

  #throughFilter(op: 'add' | 'replace', target: Target, value: unknown, index: number): void {
    const { container, attribute, sub, filter, path } = target;
    const key = attribute.name;
    const items = list(container[key]);
    const selected = selector(filter as FilterNode);
    let found = false;
    for (let i = 0; i < items.length; i++) {
      this.#step(index);
      const item = items[i];
      if (!selected(item)) continue;
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

  #remove(target: Target, value: unknown, index: number): void {
    const { container, attribute, sub, filter } = target;
    const key = attribute.name;
    if (filter === null && sub === null) {
      if (attribute.multiValued && value !== undefined && value !== null) {
        // Entra ID removes group members by naming them in the value of a remove of `members`.
        const gone = new Set<string>();
        for (const item of list(value)) {
          this.#step(index);
          gone.add(identity(canonical(attribute, item)));
        }
        this.#setList(
          container,
          key,
          list(container[key]).filter((item) => {
            this.#step(index);
            return !gone.has(identity(item));
          }),
        );
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
    if (sub === null) {
      this.#setList(
        container,
        key,
        items.filter((item) => {
          this.#step(index);
          return !selected(item);
        }),
      );
      return;
    }
    for (const item of items) {
      this.#step(index);
      if (isObject(item) && selected(item)) delete item[sub.name];
    }
  }

  /** A multi-valued attribute left without values is unassigned (RFC 7644 §3.5.2.2). */
  #setList(container: Obj, key: string, items: unknown[]): void {
    if (items.length === 0) delete container[key];
    else container[key] = items;
  }
}

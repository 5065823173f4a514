import type { ApiFailure } from '../api/client.js';

/**
 * A failure's field errors keyed by the body field they are about (`body.concurrencyLimit` →
 * `concurrencyLimit`), each field's messages joined; paths inside a field keep their rest
 * (`spec.template.spec.containers: …`), so a nested document's problems say where they are.
 */
export function fieldErrorsByField(failure: ApiFailure): Record<string, string[]> {
  const errors = failure.kind === 'http_error' ? (failure.problem?.errors ?? []) : [];
  const byField: Record<string, string[]> = {};
  for (const e of errors) {
    const path = e.path.replace(/^\/?body[./]?/, '');
    const cut = path.search(/[.[]/);
    const field = cut < 0 ? path : path.slice(0, cut);
    const rest = cut < 0 ? '' : path.slice(cut).replace(/^\./, '');
    const list = byField[field] ?? [];
    list.push(rest ? `${rest}: ${e.message}` : e.message);
    byField[field] = list;
  }
  return byField;
}

/** A limit field's text as the API takes it: blank is no limit (null), else a whole number; undefined when not one. */
export function parseLimit(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (!/^\d+$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

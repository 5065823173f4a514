import { type Artifact, ArtifactDataByType } from '@outpost/sdk/contracts';
import { isSvgDataUrl } from './safe-svg.js';

/** What the run page draws for one artifact; anything that does not match its type's shape is shown as raw JSON text. */
export type ArtifactView =
  | { kind: 'markdown'; markdown: string }
  | { kind: 'table'; columns: string[]; rows: string[][] }
  | { kind: 'link'; href: string | null; text: string }
  | { kind: 'progress'; percent: number }
  | { kind: 'invalid'; json: string };

/** Cells past this many rows are not drawn: a table artifact is a summary, not a data export. */
export const MAX_TABLE_ROWS = 1000;

export function artifactView(artifact: Pick<Artifact, 'type' | 'data'>): ArtifactView {
  const invalid: ArtifactView = { kind: 'invalid', json: JSON.stringify(artifact.data, null, 2) ?? 'null' };
  switch (artifact.type) {
    case 'markdown': {
      const parsed = ArtifactDataByType.markdown.safeParse(artifact.data);
      return parsed.success ? { kind: 'markdown', markdown: parsed.data.markdown } : invalid;
    }
    case 'table':
      return tableView(artifact.data) ?? invalid;
    case 'link': {
      const data = artifact.data;
      if (!isRecord(data) || typeof data.url !== 'string') return invalid;
      const text = typeof data.text === 'string' && data.text.trim() !== '' ? data.text : data.url;
      return { kind: 'link', href: webHref(data.url), text };
    }
    case 'progress': {
      const data = artifact.data;
      if (!isRecord(data) || typeof data.progress !== 'number') return invalid;
      return { kind: 'progress', percent: progressPercent(data.progress) };
    }
  }
}

/** A fraction as a whole-ish percentage in [0, 100]; anything not a finite number is 0. */
export function progressPercent(fraction: number): number {
  if (!Number.isFinite(fraction)) return 0;
  const percent = Math.min(100, Math.max(0, fraction * 100));
  return Math.round(percent * 10) / 10;
}

/**
 * Columns come from `columns`; rows given as objects instead of arrays contribute their keys, in order
 * of first appearance, so a writer that sent records still gets a header.
 */
export function tableView(data: unknown): { kind: 'table'; columns: string[]; rows: string[][] } | null {
  if (!isRecord(data) || !Array.isArray(data.rows)) return null;
  const columns = Array.isArray(data.columns) ? data.columns.map((c) => cellText(c)) : [];
  const rows = data.rows.slice(0, MAX_TABLE_ROWS);
  for (const row of rows) {
    if (!isRecord(row)) continue;
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  const width = Math.max(columns.length, ...rows.map((r) => (Array.isArray(r) ? r.length : 0)));
  while (columns.length < width) columns.push('');
  const cells = rows.map((row) =>
    columns.map((column, i) => {
      if (Array.isArray(row)) return cellText(row[i]);
      if (isRecord(row)) return cellText(row[column]);
      return i === 0 ? cellText(row) : '';
    }),
  );
  return { kind: 'table', columns, rows: cells };
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** An absolute http(s) address, normalised; anything else (javascript:, data:, relative) is null. */
export function webHref(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Links inside markdown: http(s) and mailto only. */
export function markdownLinkHref(url: string): string | null {
  if (/^mailto:/i.test(url.trim())) {
    try {
      return new URL(url.trim()).href;
    } catch {
      return null;
    }
  }
  return webHref(url.trim());
}

/**
 * Images inside markdown: the policy allows `img-src 'self' data:`, so only data: images (raster,
 * and SVG, which is sanitised before it is drawn — see safe-svg.ts) and same-origin paths load;
 * anything else would be blocked anyway and is shown as its alt text.
 */
export function markdownImageSrc(url: string): string | null {
  const trimmed = url.trim();
  if (/^data:image\/(png|gif|jpeg|webp);/i.test(trimmed)) return trimmed;
  if (isSvgDataUrl(trimmed)) return trimmed;
  if (/^\/(?![/\\])/.test(trimmed)) return trimmed;
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import DOMPurify from 'dompurify';

const SVG_DATA_URL = /^data:image\/svg\+xml(;charset=[\w-]+)?(;base64)?,/i;

/** Whether `url` is an SVG image given as a data: URL. */
export function isSvgDataUrl(url: string): boolean {
  return SVG_DATA_URL.test(url.trim());
}

/** An `on…=` attribute with its value, quoted or not. */
const EVENT_HANDLER = /\son[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi;

function decode(url: string): string | null {
  const trimmed = url.trim();
  const match = SVG_DATA_URL.exec(trimmed);
  if (!match) return null;
  const body = trimmed.slice(match[0].length);
  try {
    if (match[2]) {
      const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
      return new TextDecoder().decode(bytes);
    }
    return decodeURIComponent(body);
  } catch {
    return null;
  }
}

function toBase64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * An SVG data: URL cleaned for an `<img>`: scripts, event handlers, foreign objects and outside
 * references removed by DOMPurify's SVG profile, then re-encoded. An image never runs script or
 * fetches anything, so this is a second wall, and what is drawn is what was checked. Null where
 * there is no DOM to sanitise with (server rendering) or the URL does not decode: the alt text shows.
 */
export function sanitizedSvgDataUrl(url: string): string | null {
  if (!DOMPurify.isSupported) return null;
  const decoded = decode(url);
  if (decoded === null) return null;
  // Event-handler attributes go before any parsing: Chromium tries an SVG's onload even in an inert
  // document (the page's policy blocks it, but it should never be attempted at all).
  const svg = decoded.replace(EVENT_HANDLER, '');
  const clean = DOMPurify.sanitize(svg, {
    USE_PROFILES: { svg: true, svgFilters: true },
    FORBID_TAGS: ['foreignObject', 'use', 'image', 'a'],
    FORBID_ATTR: ['href', 'xlink:href'],
  });
  if (!/^\s*<svg[\s>]/i.test(clean)) return null;
  return `data:image/svg+xml;base64,${toBase64(clean)}`;
}

import { Fragment } from 'react';

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/**
 * Pretty-printed JSON with quiet colouring. Every piece is a React text node, so values that look
 * like markup (parameters are user input) show as the characters they are.
 */
export function JsonView({ value, testId, wrap = false }: { value: unknown; testId?: string; wrap?: boolean }) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  const parts: { text: string; kind: string }[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ text: text.slice(last, at), kind: '' });
    if (m[1] !== undefined) {
      parts.push({ text: m[1], kind: m[2] ? 'json-key' : 'json-string' });
      if (m[2]) parts.push({ text: m[2], kind: '' });
    } else if (m[3] !== undefined) {
      parts.push({ text: m[3], kind: 'json-literal' });
    } else {
      parts.push({ text: m[0], kind: 'json-number' });
    }
    last = at + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), kind: '' });
  return (
    <pre className={wrap ? 'json-view json-view-wrap' : 'json-view'} data-testid={testId}>
      {parts.map((p, i) =>
        p.kind ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: tokens of one immutable string
          <span key={i} className={p.kind}>
            {p.text}
          </span>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: tokens of one immutable string
          <Fragment key={i}>{p.text}</Fragment>
        ),
      )}
    </pre>
  );
}

import { Fragment } from 'react';
import { shortSource } from '../lib/format.js';

/**
 * A deployment's source reference, shortened for a table (digest or commit to 12) but never cut
 * otherwise: monospace, breakable only after a `/` (a line break opportunity after each), and the
 * whole reference in the title.
 */
export function SourceText({ source, testId }: { source: string; testId?: string }) {
  const parts = shortSource(source).split('/');
  return (
    <code className="source" title={source} data-testid={testId}>
      {parts.map((part, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one string, in a fixed order
        <Fragment key={i}>
          {i > 0 && (
            <>
              /<wbr />
            </>
          )}
          <span className="source-part">{part}</span>
        </Fragment>
      ))}
    </code>
  );
}

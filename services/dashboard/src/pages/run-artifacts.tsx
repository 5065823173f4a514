import type { Artifact } from '@outpost/sdk/contracts';
import { lazy, Suspense } from 'react';
import { cssVars } from '../components/css-vars.js';
import { Empty } from '../components/notice.js';
import { SortableTable } from '../components/sortable-table.js';
import { type ArtifactView, artifactView } from '../lib/artifacts.js';
import { formatDateTime } from '../lib/format.js';

/** A run's artifacts, each drawn by its type; every string from the run stays text. */
// The Markdown renderer (micromark, remark-gfm, DOMPurify: about 160 kB) loads with the first
// Markdown artifact shown, not with every run page.
const MarkdownText = lazy(() => import('../components/markdown-text.js').then((m) => ({ default: m.MarkdownText })));

export function RunArtifacts({ artifacts }: { artifacts: readonly Artifact[] }) {
  if (artifacts.length === 0) return <Empty>No artifacts.</Empty>;
  return (
    <div className="artifacts">
      {artifacts.map((artifact) => (
        <article key={artifact.id} className="artifact" data-testid="artifact" data-type={artifact.type} data-key={artifact.key}>
          <header className="artifact-header">
            <span className="mono">{artifact.key}</span>
            <span className="muted small">{artifact.type}</span>
            <span className="muted small">{formatDateTime(artifact.updatedAt)}</span>
          </header>
          {artifact.description && <p className="muted artifact-description">{artifact.description}</p>}
          <ArtifactBody view={artifactView(artifact)} />
        </article>
      ))}
    </div>
  );
}

export function ArtifactBody({ view }: { view: ArtifactView }) {
  switch (view.kind) {
    case 'markdown':
      return (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <MarkdownText markdown={view.markdown} />
        </Suspense>
      );
    case 'table':
      return (
        <div className="artifact-table-wrap">
          <SortableTable columns={view.columns} rows={view.rows} />
        </div>
      );
    case 'link':
      return view.href ? (
        <a href={view.href} rel="noopener noreferrer" target="_blank" className="artifact-link">
          {view.text}
        </a>
      ) : (
        <span className="mono">{view.text}</span>
      );
    case 'progress':
      return (
        <div className="artifact-progress-row">
          <div
            className="artifact-progress"
            data-testid="artifact-progress"
            data-percent={view.percent}
            role="progressbar"
            aria-label="Progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={view.percent}
          >
            <span className="artifact-progress-fill" ref={cssVars({ '--progress': `${view.percent}%` })} />
          </div>
          <span className="mono small">{view.percent}%</span>
        </div>
      );
    case 'invalid':
      return <pre className="mono small">{view.json}</pre>;
  }
}

import {
  AssignedResources,
  type FlowRun,
  type FlowRunManifest,
  type ManifestAttempt,
  type Role,
  shortCodeDigest,
} from '@outpost/sdk/contracts';
import { type ReactNode, useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { JsonView } from '../components/json-view.js';
import { Notice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { TableHead } from '../components/table-head.js';
import { TagList } from '../components/tag-list.js';
import { mayCall } from '../lib/asset-metadata.js';
import { formatDateTime, pluralise } from '../lib/format.js';
import { assetPath, href, navigate } from '../router.js';

export interface ManifestView {
  manifest: FlowRunManifest | null;
  error: string | null;
}

/** A run's manifest, read again whenever the run changes (a new attempt reports where it runs). */
export function useRunManifest(run: Pick<FlowRun, 'id' | 'updatedAt'> | null): ManifestView {
  const [view, setView] = useState<ManifestView>({ manifest: null, error: null });
  const id = run?.id;
  const updatedAt = run?.updatedAt;
  // biome-ignore lint/correctness/useExhaustiveDependencies: every change of the run (its updatedAt) re-reads the manifest
  useEffect(() => {
    if (!id) return;
    let current = true;
    void api.call('flowRunsManifest', { params: { id } }).then((result) => {
      if (!current) return;
      if (result.ok) setView({ manifest: result.data, error: null });
      else setView((v) => ({ manifest: v.manifest, error: describeFailure(result) }));
    });
    return () => {
      current = false;
    };
  }, [id, updatedAt]);
  return view;
}

/**
 * "Reproduce": a new run of the same deployment version, entrypoint, parameters and job variables,
 * whatever is deployed now; the page then moves to it. Shown only to roles that may create runs.
 */
export function ReproduceButton({ manifest, role }: { manifest: FlowRunManifest | null; role: Role | null }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!mayCall(role, 'flowRunsReproduce')) return null;
  const pinned = manifest?.deploymentVersionId != null;

  const reproduce = async () => {
    if (!manifest) return;
    setBusy(true);
    setError(null);
    const result = await api.call('flowRunsReproduce', { params: { id: manifest.flowRunId }, body: {} });
    setBusy(false);
    if (!result.ok) {
      setError(`Could not reproduce: ${describeFailure(result)}`);
      return;
    }
    navigate(`/runs/${result.data.flowRun.id}`);
  };

  return (
    <>
      {error && (
        <span className="outcome outcome-error" role="status" data-testid="run-reproduce-error">
          {error}
        </span>
      )}
      <button
        type="button"
        className="button"
        disabled={!pinned || busy}
        title={
          pinned
            ? 'Start a new run of the same code version, entrypoint, parameters and job variables'
            : 'Only a run of a deployment version can be reproduced'
        }
        onClick={() => void reproduce()}
        data-testid="run-reproduce"
      >
        {busy ? 'Reproducing…' : 'Reproduce'}
      </button>
    </>
  );
}

/**
 * "Reproduction of <original>", on a run that Reproduce created: named once the manifest is read
 * (by its id's prefix only if the manifest cannot be read).
 */
export function ReproducedFrom({ run, view }: { run: FlowRun; view: ManifestView }) {
  const from = view.manifest?.reproducedFrom ?? null;
  const id = from?.id ?? (view.error ? run.reproducedFromId : null);
  if (!id) return null;
  return (
    <p className="reproduced-from" data-testid="run-reproduced-from">
      Reproduction of{' '}
      <a href={href(`/runs/${id}`)} data-testid="run-reproduced-from-link">
        {from?.name ?? id.slice(0, 8)}
      </a>
    </p>
  );
}

/**
 * What the run ran: the pinned code and its entrypoint, parameters, job variables (secrets by name
 * only), where each attempt ran and on which devices, the asset versions it read, and the runs
 * that reproduce it. Folded to a one-line summary until opened: the run page is long already.
 */
export function RunManifest({ view }: { view: ManifestView }) {
  const { manifest, error } = view;
  return (
    <details className="panel run-manifest" aria-label="Manifest" data-testid="run-manifest" id="run-manifest" tabIndex={-1}>
      <summary className="panel-header manifest-summary" data-testid="run-manifest-toggle">
        <h2>Manifest</h2>
        <span className="muted small manifest-line" data-testid="run-manifest-line">
          {manifest ? summaryLine(manifest) : error ? 'unavailable' : 'loading…'}
        </span>
      </summary>
      {error && <Notice>{error}</Notice>}
      {manifest && <ManifestBody manifest={manifest} />}
    </details>
  );
}

/** `code sha256:0123456789ab · flows/train.js · 1 secret · 2 attempts`. */
function summaryLine(m: FlowRunManifest): string {
  const parts = [
    m.codeDigest ? `code ${shortCodeDigest(m.codeDigest)}` : 'no code digest',
    ...(m.entrypoint ? [m.entrypoint] : []),
    pluralise(m.secretNames.length, 'secret'),
    pluralise(m.attempts.length, 'attempt'),
    ...(m.reproducedBy.length ? [`reproduced ${m.reproducedBy.length}×`] : []),
  ];
  return parts.join(' · ');
}

function ManifestBody({ manifest: m }: { manifest: FlowRunManifest }) {
  const labels = Object.entries(m.labels).map(([k, v]) => `${k}=${v}`);
  return (
    <div className="manifest-body">
      <dl className="manifest-facts">
        <ManifestFact label="Code digest" testId="manifest-code-digest" mono title={m.codeDigest ?? undefined}>
          {m.codeDigest ?? <span className="muted">none (a directory source)</span>}
        </ManifestFact>
        <ManifestFact label="Source" testId="manifest-source" mono title={m.source ?? undefined}>
          {m.source ?? '—'}
        </ManifestFact>
        <ManifestFact label="Entrypoint" testId="manifest-entrypoint" mono>
          {m.entrypoint ?? '—'}
        </ManifestFact>
        <ManifestFact label="Deployment" testId="manifest-deployment">
          {m.deployment ?? <span className="muted">ad hoc</span>}
        </ManifestFact>
        <ManifestFact label="Deployment version" mono title={m.deploymentVersionId ?? undefined}>
          {m.deploymentVersionId ? m.deploymentVersionId.slice(0, 8) : '—'}
        </ManifestFact>
        <ManifestFact label="Secrets (names only)" testId="manifest-secrets">
          <TagList tags={m.secretNames} />
        </ManifestFact>
        <ManifestFact label="Pool / queue">{m.workPool ? `${m.workPool} / ${m.workQueue ?? 'default'}` : '—'}</ManifestFact>
        {labels.length > 0 && (
          <ManifestFact label="Worker labels">
            <TagList tags={labels} />
          </ManifestFact>
        )}
        {m.partitionKey && <ManifestFact label="Partition">{m.partitionKey}</ManifestFact>}
      </dl>
      <div className="two-columns">
        <div>
          <h3 className="manifest-heading">Parameters</h3>
          <JsonView value={m.parameters} testId="manifest-parameters" />
        </div>
        <div>
          <h3 className="manifest-heading">Job variables</h3>
          <JsonView value={m.jobVariables} testId="manifest-job-variables" />
        </div>
      </div>
      <h3 className="manifest-heading">Where each attempt ran</h3>
      {m.attempts.length === 0 ? (
        <p className="muted">No worker has claimed this run yet.</p>
      ) : (
        <div className="manifest-scroll">
          <table className="grid-table compact">
            <TableHead
              columns={[
                'Attempt',
                'Worker',
                'Executor',
                'Worker version',
                'Node',
                'Image',
                'Image digest',
                'Assigned',
                'Ended as',
              ]}
            />
            <tbody>
              {m.attempts.map((a) => (
                <AttemptRow key={a.attempt} attempt={a} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {m.inputAssets.length > 0 && (
        <>
          <h3 className="manifest-heading">Input assets</h3>
          <table className="grid-table compact" data-testid="manifest-input-assets">
            <TableHead columns={['Asset', 'Partition', 'Data version', 'Code version', 'Materialised']} />
            <tbody>
              {m.inputAssets.map((a) => (
                <tr key={`${a.assetKey}:${a.partitionKey ?? ''}`}>
                  <td>
                    <a href={href(assetPath(a.assetKey))}>{a.assetKey}</a>
                  </td>
                  <td>{a.partitionKey ?? '—'}</td>
                  <td className="mono small">{a.dataVersion ?? '—'}</td>
                  <td className="mono small">{a.codeVersion.slice(0, 12)}</td>
                  <td>
                    <a href={href(`/runs/${a.flowRunId}`)}>{formatDateTime(a.materializedAt)}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {m.reproducedBy.length > 0 && (
        <>
          <h3 className="manifest-heading">Reproduced by</h3>
          <ul className="child-runs">
            {m.reproducedBy.map((r) => (
              <li key={r.id} className="child-run">
                <a href={href(`/runs/${r.id}`)} data-testid="run-reproduction" data-run-id={r.id}>
                  {r.name}
                </a>
                <span className="muted small">{formatDateTime(r.createdAt)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function AttemptRow({ attempt: a }: { attempt: ManifestAttempt }) {
  return (
    <tr data-testid="manifest-attempt" data-attempt={a.attempt}>
      <td>{a.attempt}</td>
      <td data-testid="manifest-worker">{a.workerName ?? '—'}</td>
      <td data-testid="manifest-executor">{a.executor ?? '—'}</td>
      <td className="mono small" data-testid="manifest-worker-version">
        {a.workerVersion ?? '—'}
      </td>
      <td className="mono small" data-testid="manifest-node-version">
        {a.nodeVersion ?? '—'}
      </td>
      <td className="mono small manifest-image" title={a.image ?? undefined} data-testid="manifest-image">
        {a.image ?? '—'}
      </td>
      <td className="mono small" title={a.imageDigest ?? undefined} data-testid="manifest-image-digest">
        {a.imageDigest ? a.imageDigest.slice(0, 'sha256:'.length + 12) : '—'}
      </td>
      <td data-testid="manifest-assigned">
        <Assigned value={a.assigned} />
      </td>
      <td>{a.state ? <StateBadge state={a.state} /> : <span className="muted">running</span>}</td>
    </tr>
  );
}

/** The devices and amounts the claim assigned: one chip per GPU, then memory and CPU slots. */
function Assigned({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const parsed = AssignedResources.safeParse(value);
  if (!parsed.success) return <span className="mono small">{JSON.stringify(value)}</span>;
  const { gpus, memoryGb, cpus } = parsed.data;
  if (gpus.length === 0 && memoryGb === null && cpus === null) return <span className="muted">—</span>;
  return (
    <span className="manifest-assigned">
      {gpus.map((id) => (
        <span key={id} className="gpu-device gpu-busy" data-testid="manifest-gpu" title={`GPU device ${id}`}>
          GPU {id}
        </span>
      ))}
      {memoryGb !== null && <span className="muted small">{memoryGb} GB</span>}
      {cpus !== null && <span className="muted small">{pluralise(cpus, 'CPU')}</span>}
    </span>
  );
}

function ManifestFact({
  label,
  children,
  testId,
  mono,
  title,
}: {
  label: string;
  children: ReactNode;
  testId?: string;
  mono?: boolean;
  title?: string | undefined;
}) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd data-testid={testId} className={mono ? 'mono small' : undefined} title={title}>
        {children}
      </dd>
    </div>
  );
}

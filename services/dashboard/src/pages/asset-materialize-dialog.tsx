import type { Asset, AssetMaterializeRequest, AssetMaterializeResponse, PartitionSelection } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { CheckField, DialogActions, TextInput } from '../components/form-field.js';
import { MaxConcurrentField, parseMaxConcurrent } from '../components/max-concurrent-field.js';
import { Notice } from '../components/notice.js';
import { pluralise } from '../lib/format.js';
import { navigate } from '../router.js';

type Mode = 'one' | 'range' | 'keys' | 'all';

export type MaterializeTarget = Pick<Asset, 'key' | 'partitions' | 'acceptsRange'>;

/** The form's starting point from a grid selection (or nothing picked yet). */
function initialMode(selection: PartitionSelection | null | undefined): Mode {
  if (!selection) return 'one';
  if ('range' in selection) return 'range';
  if ('all' in selection) return 'all';
  return selection.keys.length === 1 ? 'one' : 'keys';
}

/**
 * Materialise one or more assets: with their upstream and/or downstream, and for partitioned ones
 * one partition (one run), a range or every partition (a backfill with a concurrency limit). The
 * API orders the assets and refuses what a failed blocking check holds back; its answer is shown
 * as it is. One run opens the run's page; a backfill is reported here.
 */
export function MaterializeDialog({
  assets,
  selection,
  defaultPartition,
  onClose,
  onStarted,
}: {
  assets: readonly MaterializeTarget[];
  /** Partitions picked on the grid. */
  selection?: PartitionSelection | null;
  /** A partition to offer when none is picked (the latest one materialised). */
  defaultPartition?: string | null;
  onClose: () => void;
  onStarted?: (result: AssetMaterializeResponse) => void;
}) {
  const partitioned = assets.some((a) => a.partitions !== null);
  const acceptsRange = assets.length > 0 && assets.every((a) => a.acceptsRange);
  const [upstream, setUpstream] = useState(false);
  const [downstream, setDownstream] = useState(false);
  const [mode, setMode] = useState<Mode>(() => initialMode(selection));
  const [key, setKey] = useState(() =>
    selection && 'keys' in selection && selection.keys.length === 1 ? (selection.keys[0] ?? '') : (defaultPartition ?? ''),
  );
  const [start, setStart] = useState(() => (selection && 'range' in selection ? selection.range.start : ''));
  const [end, setEnd] = useState(() => (selection && 'range' in selection ? selection.range.end : ''));
  const pickedKeys = selection && 'keys' in selection ? selection.keys : [];
  const [maxConcurrent, setMaxConcurrent] = useState('4');
  const [singleRun, setSingleRun] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [backfill, setBackfill] = useState<AssetMaterializeResponse | null>(null);

  const backfillMode = partitioned && mode !== 'one';

  const partitions = (): PartitionSelection | undefined | string => {
    if (!partitioned) return undefined;
    switch (mode) {
      case 'one':
        return key.trim() ? { keys: [key.trim()] } : 'Name the partition to materialise.';
      case 'range':
        return start.trim() && end.trim()
          ? { range: { start: start.trim(), end: end.trim() } }
          : 'Name the first and the last partition of the range.';
      case 'keys':
        return pickedKeys.length > 0 ? { keys: pickedKeys } : 'Pick partitions on the grid first.';
      case 'all':
        return { all: true };
    }
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const picked = partitions();
    if (typeof picked === 'string') {
      setError(picked);
      return;
    }
    const concurrency = parseMaxConcurrent(maxConcurrent);
    if (backfillMode && concurrency === null) {
      setError('Max concurrency is a whole number from 1 to 1,000.');
      return;
    }
    const body: AssetMaterializeRequest = {
      assets: assets.map((a) => a.key),
      upstream,
      downstream,
      ...(picked ? { partitions: picked } : {}),
      ...(backfillMode && concurrency !== null
        ? { maxConcurrent: concurrency, ...(acceptsRange && singleRun ? { singleRun: true } : {}) }
        : {}),
    };
    setBusy(true);
    setError(null);
    const result = await api.call('assetsMaterialize', { body });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    onStarted?.(result.data);
    if (result.data.flowRunId) {
      onClose();
      navigate(`/runs/${result.data.flowRunId}`);
      return;
    }
    setBackfill(result.data);
  };

  const title = assets.length === 1 ? `Materialize ${assets[0]?.key}` : `Materialize ${pluralise(assets.length, 'asset')}`;
  return (
    <Dialog title={title} onClose={onClose} testId="materialize-dialog" wide>
      {backfill ? (
        <div className="form">
          <Notice kind="success" testId="materialize-backfill">
            Backfill started for {backfill.assets.join(', ')}
            {backfill.backfillId ? (
              <>
                {' '}
                (<span className="mono">{backfill.backfillId}</span>)
              </>
            ) : null}
            . Its runs are created as earlier ones finish.
          </Notice>
          <div className="dialog-actions">
            <button type="button" className="button button-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="materialize-form">
          {assets.length > 1 && (
            <p className="muted small">
              <span className="mono">{assets.map((a) => a.key).join(', ')}</span>
            </p>
          )}
          <fieldset className="radio-row" aria-label="Also materialise">
            <CheckField checked={upstream} onChange={setUpstream} testId="materialize-upstream">
              With everything upstream
            </CheckField>
            <CheckField checked={downstream} onChange={setDownstream} testId="materialize-downstream">
              With everything downstream
            </CheckField>
          </fieldset>
          {partitioned && (
            <>
              <fieldset className="radio-row" aria-label="Partitions">
                {(
                  [
                    ['one', 'One partition'],
                    ['range', 'A range'],
                    ...(pickedKeys.length > 1 ? [['keys', `${pickedKeys.length.toLocaleString()} picked on the grid`]] : []),
                    ['all', 'Every partition'],
                  ] as [Mode, string][]
                ).map(([value, label]) => (
                  <label key={value}>
                    <input
                      type="radio"
                      name="partition-mode"
                      value={value}
                      checked={mode === value}
                      onChange={() => setMode(value)}
                      data-testid={`materialize-mode-${value}`}
                    />
                    {label}
                  </label>
                ))}
              </fieldset>
              {mode === 'one' && (
                <label className="field">
                  <span className="field-label">Partition key</span>
                  <TextInput
                    className="mono"
                    value={key}
                    onChange={setKey}
                    placeholder="2026-03-01"
                    testId="materialize-partition"
                  />
                </label>
              )}
              {mode === 'range' && (
                <div className="range-fields">
                  <TextInput
                    className="mono"
                    aria-label="First partition"
                    value={start}
                    onChange={setStart}
                    testId="materialize-range-start"
                  />
                  <span aria-hidden="true">→</span>
                  <TextInput
                    className="mono"
                    aria-label="Last partition"
                    value={end}
                    onChange={setEnd}
                    testId="materialize-range-end"
                  />
                </div>
              )}
              {backfillMode && (
                <>
                  <MaxConcurrentField
                    label="Max concurrency"
                    inline
                    value={maxConcurrent}
                    onChange={setMaxConcurrent}
                    testId="materialize-max-concurrent"
                  >
                    <span className="field-help">At most this many runs at once; the next start as earlier ones finish.</span>
                  </MaxConcurrentField>
                  {acceptsRange && (
                    <CheckField checked={singleRun} onChange={setSingleRun} testId="materialize-single-run">
                      One run over the whole range
                    </CheckField>
                  )}
                </>
              )}
            </>
          )}
          {error && <Notice testId="materialize-error">{error}</Notice>}
          <DialogActions
            label="Materialize"
            busyLabel="Starting…"
            busy={busy}
            testId="materialize-submit"
            onClose={onClose}
            closeLabel="Close"
          />
        </form>
      )}
    </Dialog>
  );
}

import type { Deployment, JsonObject, Schedule, ScheduleUpdateRequest } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { CheckField, DialogActions, TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { OnOffPill } from '../components/status-pill.js';
import { describeSchedule, formatInZone, nextRunTimes } from '../lib/schedule-text.js';

const NEXT_COUNT = 5;

/** A deployment's schedules in words with their next times; people who may deploy can pause, resume and edit each. */
export function DeploymentSchedules({
  deployment,
  schedules,
  canEdit,
  now,
  onChanged,
}: {
  deployment: Deployment;
  schedules: Schedule[];
  canEdit: boolean;
  now: number;
  onChanged: (schedule: Schedule) => void;
}) {
  const [editing, setEditing] = useState<Schedule | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const setActive = async (s: Schedule, active: boolean) => {
    setBusy(s.slug);
    setFailure(null);
    const result = await api.call('schedulesUpdate', { params: { id: deployment.id, slug: s.slug }, body: { active } });
    setBusy(null);
    if (result.ok) onChanged(result.data);
    else setFailure(describeFailure(result));
  };

  return (
    <section className="panel deployment-section" aria-labelledby="schedules-heading" data-testid="deployment-schedules">
      <h2 id="schedules-heading">Schedules</h2>
      {failure && <Notice>{failure}</Notice>}
      {schedules.length === 0 ? (
        <Empty>No schedules. Declare them under schedules: in outpost.config.ts and deploy.</Empty>
      ) : (
        <ul className="schedule-list">
          {schedules.map((s) => {
            const times = nextRunTimes(s, new Date(now), NEXT_COUNT);
            const zone = s.cron !== null ? (s.timezone ?? 'UTC') : null;
            const stopped = !s.active || deployment.paused;
            return (
              <li key={s.slug} className="schedule-item" data-testid="schedule" data-slug={s.slug}>
                <div className="schedule-head">
                  <div>
                    <div className="schedule-sentence" data-testid="schedule-sentence">
                      {describeSchedule(s)}
                    </div>
                    <div className="muted small mono">
                      {s.slug}
                      {s.cron !== null && ` · ${s.cron}`}
                      {Object.keys(s.parameters).length > 0 && ` · ${JSON.stringify(s.parameters)}`}
                    </div>
                  </div>
                  <div className="schedule-actions">
                    <OnOffPill on={s.active} testId="schedule-status" />
                    {canEdit && (
                      <>
                        <button
                          type="button"
                          className="button"
                          disabled={busy === s.slug}
                          onClick={() => void setActive(s, !s.active)}
                          data-testid="schedule-toggle"
                        >
                          {s.active ? 'Pause' : 'Resume'}
                        </button>
                        <button type="button" className="button" onClick={() => setEditing(s)} data-testid="schedule-edit">
                          Edit
                        </button>
                      </>
                    )}
                  </div>
                </div>
                <div className="schedule-next">
                  <span className="muted small">
                    {stopped
                      ? deployment.paused
                        ? 'Would next run (the deployment is paused)'
                        : 'Would next run (paused)'
                      : 'Next runs'}
                  </span>
                  <ol className={`schedule-times${stopped ? ' schedule-times-stopped' : ''}`} data-testid="schedule-next">
                    {times.map((t) => (
                      <li key={t.getTime()} data-testid="schedule-time">
                        <time dateTime={t.toISOString()}>{formatInZone(t, zone)}</time>
                      </li>
                    ))}
                  </ol>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {editing && (
        <ScheduleEditDialog
          deployment={deployment}
          schedule={editing}
          onClose={() => setEditing(null)}
          onSaved={(s) => {
            setEditing(null);
            onChanged(s);
          }}
        />
      )}
    </section>
  );
}

type Kind = 'cron' | 'interval';

/** Edits a schedule's definition, zone, parameters and active mark; the API checks them and names any field it refuses. */
function ScheduleEditDialog({
  deployment,
  schedule,
  onClose,
  onSaved,
}: {
  deployment: Deployment;
  schedule: Schedule;
  onClose: () => void;
  onSaved: (s: Schedule) => void;
}) {
  const [kind, setKind] = useState<Kind>(schedule.cron !== null || schedule.intervalSeconds === null ? 'cron' : 'interval');
  const [cron, setCron] = useState(schedule.cron ?? '0 * * * *');
  const [timezone, setTimezone] = useState(schedule.timezone ?? 'UTC');
  const [interval, setInterval] = useState(String(schedule.intervalSeconds ?? 3600));
  const [active, setActive] = useState(schedule.active);
  const [parameters, setParameters] = useState(JSON.stringify(schedule.parameters, null, 2));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const preview = kind === 'cron' ? { cron, timezone, intervalSeconds: null, anchorDate: null } : null;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const found: Record<string, string> = {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(parameters || '{}');
    } catch {
      parsed = null;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) found.parameters = 'must be a JSON object';
    const seconds = Number(interval);
    if (kind === 'interval' && !(Number.isInteger(seconds) && seconds >= 1)) found.intervalSeconds = 'a whole number of seconds';
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const body: ScheduleUpdateRequest =
      kind === 'cron'
        ? { cron, timezone, active, parameters: parsed as JsonObject }
        : { intervalSeconds: seconds, active, parameters: parsed as JsonObject };
    setBusy(true);
    setFailure(null);
    const result = await api.call('schedulesUpdate', { params: { id: deployment.id, slug: schedule.slug }, body });
    setBusy(false);
    if (result.ok) {
      onSaved(result.data);
      return;
    }
    const byField: Record<string, string> = {};
    for (const fe of result.kind === 'http_error' ? (result.problem?.errors ?? []) : []) {
      const field = fe.path.replace(/^\/?body[./]?/, '').split(/[./]/)[0] || 'form';
      byField[field] = fe.message;
    }
    setErrors(byField);
    setFailure(describeFailure(result));
  };

  return (
    <Dialog title={`Edit schedule ${schedule.slug}`} onClose={onClose} testId="schedule-dialog" wide>
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="schedule-form">
        <fieldset className="field schedule-kind">
          <legend className="field-label">Runs</legend>
          <label>
            <input type="radio" name="kind" checked={kind === 'cron'} onChange={() => setKind('cron')} /> on a cron
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === 'interval'} onChange={() => setKind('interval')} /> every interval
          </label>
        </fieldset>
        {kind === 'cron' ? (
          <>
            <label className="field">
              <span className="field-label">Cron expression</span>
              <input className="mono" value={cron} onChange={(e) => setCron(e.target.value)} data-testid="schedule-cron" />
              {errors.cron && <span className="field-error">{errors.cron}</span>}
            </label>
            <label className="field">
              <span className="field-label">Time zone (IANA)</span>
              <input value={timezone} onChange={(e) => setTimezone(e.target.value)} data-testid="schedule-timezone" />
              {errors.timezone && <span className="field-error">{errors.timezone}</span>}
            </label>
            {preview && (
              <p className="muted" data-testid="schedule-preview">
                {describeSchedule(preview)}
              </p>
            )}
          </>
        ) : (
          <label className="field">
            <span className="field-label">Every (seconds)</span>
            <TextInput type="number" min={1} value={interval} onChange={setInterval} testId="schedule-interval" />
            {errors.intervalSeconds && <span className="field-error">{errors.intervalSeconds}</span>}
          </label>
        )}
        <CheckField inline checked={active} onChange={setActive} testId="schedule-active">
          <span>Active</span>
        </CheckField>
        <label className="field">
          <span className="field-label">Parameters (JSON object, over the deployment's defaults)</span>
          <textarea
            className="mono"
            rows={4}
            value={parameters}
            onChange={(e) => setParameters(e.target.value)}
            data-testid="schedule-parameters"
          />
          {errors.parameters && <span className="field-error">{errors.parameters}</span>}
        </label>
        <p className="muted small">
          Runs not yet claimed are replanned. The next deploy sets schedules back to outpost.config.ts.
        </p>
        {failure && <Notice testId="schedule-error">{failure}</Notice>}
        <DialogActions label="Save" busyLabel="Saving…" busy={busy} testId="schedule-save" onClose={onClose} />
      </form>
    </Dialog>
  );
}

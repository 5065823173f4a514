import type { ApprovalDecision, JsonObject, Wait } from '@outpost/sdk/contracts';
import { type FormEvent, useMemo, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Notice } from '../components/notice.js';
import { useSchemaForm } from '../hooks/use-schema-form.js';
import { formatDateTime } from '../lib/format.js';
import { buildFormModel, validateForm } from '../lib/json-schema-form.js';
import { SchemaFormInputs } from './parameter-field.js';

/**
 * Decides an approval wait: the form the flow asked for (its JSON schema, rendered like a run's
 * parameters), a comment, Approve or Reject. The form is checked in the browser first and again by
 * the API, whose field errors (`body.data.<field>`) land on their fields. The comment is also a
 * rejection's reason. With `onCancel` (in a dialog) a Cancel button comes before Reject.
 */
export function ApprovalForm({
  wait,
  onDecided,
  onCancel,
}: {
  wait: Wait;
  onDecided: (wait: Wait) => void;
  onCancel?: () => void;
}) {
  const spec = wait.spec.kind === 'approval' ? wait.spec : null;
  const model = useMemo(() => buildFormModel(spec?.form ?? { type: 'object', properties: {} }), [spec?.form]);
  const { values, errors, setErrors, setValue, placeRefusal } = useSchemaForm(model, {});
  const [comment, setComment] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!spec) return null;

  const decide = async (approved: boolean) => {
    let data: JsonObject | undefined;
    if (spec.form && approved) {
      const checked = validateForm(model, values);
      if (!checked.ok) {
        setErrors(checked.errors);
        return;
      }
      data = checked.parameters as JsonObject;
    }
    setBusy(true);
    setFailure(null);
    const result = await api.call('waitsDecide', {
      params: { id: wait.id },
      body: { approved, ...(data ? { data } : {}), ...(comment.trim() ? { comment: comment.trim() } : {}) },
    });
    setBusy(false);
    if (!result.ok) {
      placeRefusal(result, (path) => path.replace(/^body\.data\.?/, '').split('.')[0] ?? '');
      setFailure(describeFailure(result));
      return;
    }
    onDecided(result.data.wait);
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void decide(true);
  };

  return (
    <form className="form approval-form" onSubmit={onSubmit} noValidate data-testid="approval-form">
      {spec.description && <p className="approval-description">{spec.description}</p>}
      <SchemaFormInputs
        model={model}
        values={values}
        errors={errors}
        onChange={setValue}
        rawLabel="Form (JSON object)"
        rawRows={6}
      />
      <label className="field">
        <span className="field-label">Comment (the reason, when rejecting)</span>
        <textarea rows={2} value={comment} onChange={(e) => setComment(e.target.value)} data-testid="approval-comment" />
      </label>
      {failure && <Notice testId="approval-error">{failure}</Notice>}
      <div className="dialog-actions">
        {onCancel && (
          <button type="button" className="button" onClick={onCancel} data-testid="approval-cancel">
            Cancel
          </button>
        )}
        <button type="button" className="button" disabled={busy} onClick={() => void decide(false)} data-testid="approval-reject">
          Reject
        </button>
        <button type="submit" className="button button-primary" disabled={busy} data-testid="approval-approve">
          Approve
        </button>
      </div>
    </form>
  );
}

/** An approval's outcome in words: who decided, when, and what they said. */
export function DecisionSummary({ wait }: { wait: Wait }) {
  if (wait.status === 'TIMED_OUT') return <span data-testid="approval-decision">Timed out without a decision</span>;
  if (wait.status === 'CANCELLED') return <span data-testid="approval-decision">Cancelled with its run</span>;
  const decision = wait.value as ApprovalDecision | null;
  if (!decision) return null;
  return (
    <span data-testid="approval-decision" data-approved={decision.approved}>
      <strong>{decision.approved ? 'Approved' : 'Rejected'}</strong> by{' '}
      {decision.decidedBy.label ?? decision.decidedBy.id.slice(0, 8)} on {formatDateTime(decision.decidedAt)}
      {decision.comment && <> — “{decision.comment}”</>}
    </span>
  );
}

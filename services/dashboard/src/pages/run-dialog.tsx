import type { Deployment, FlowRun, JsonObject } from '@outpost/sdk/contracts';
import { type FormEvent, useMemo, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { DialogActions } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { useSchemaForm } from '../hooks/use-schema-form.js';
import { buildFormModel, validateForm } from '../lib/json-schema-form.js';
import { navigate } from '../router.js';
import { SchemaFormInputs } from './parameter-field.js';

/** Starts a run of a deployment with parameters checked against its schema before anything is sent. */
export function RunDialog({ deployment, onClose }: { deployment: Deployment; onClose: () => void }) {
  return (
    <Dialog title={`Run ${deployment.flowName}/${deployment.name}`} onClose={onClose} testId="run-dialog" wide>
      <RunForm
        deployment={deployment}
        onCancel={onClose}
        onStarted={(run) => {
          onClose();
          navigate(`/runs/${run.id}`);
        }}
      />
    </Dialog>
  );
}

/**
 * The parameters form of a deployment, one field per property in the schema's order, with its
 * defaults filled in; submitting creates one run (a retried submit reuses the form's idempotency key
 * until the run is created, then the next submit starts another run).
 */
export function RunForm({
  deployment,
  onStarted,
  onCancel,
}: {
  deployment: Deployment;
  onStarted: (run: FlowRun) => void;
  onCancel?: () => void;
}) {
  const model = useMemo(() => buildFormModel(deployment.parameterSchema), [deployment.parameterSchema]);
  const { values, errors, setErrors, setValue, placeRefusal } = useSchemaForm(model, deployment.parameters);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // one key per dialog: a double submit or a retried request creates a single run
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = validateForm(model, values);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setBusy(true);
    setFailure(null);
    const result = await api.call('deploymentsCreateRun', {
      params: { id: deployment.id },
      // the form only produces values parsed from JSON text or typed inputs, all JSON-safe
      body: { parameters: checked.parameters as JsonObject },
      headers: { 'idempotency-key': idempotencyKey },
    });
    setBusy(false);
    if (!result.ok) {
      placeRefusal(result, (path) => path.replace(/^\/?(body[./])?(parameters[./])?/, '').split(/[./]/)[0] ?? '');
      setFailure(describeFailure(result));
      return;
    }
    setIdempotencyKey(crypto.randomUUID());
    onStarted(result.data.flowRun);
  };

  return (
    <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="run-form">
      <SchemaFormInputs
        model={model}
        values={values}
        errors={errors}
        onChange={setValue}
        rawLabel="Parameters (JSON object)"
        rawRows={8}
        empty={<p className="muted">This flow takes no parameters.</p>}
      />
      {failure && <Notice testId="run-dialog-error">{failure}</Notice>}
      <DialogActions
        label="Start run"
        busyLabel="Starting…"
        busy={busy}
        testId="run-submit"
        onClose={onCancel}
        closeLabel="Close"
      />
    </form>
  );
}

import { useState } from 'react';
import type { ApiFailure } from '../api/client.js';
import { type FormModel, type FormValues, initialValues, RAW_FIELD } from '../lib/json-schema-form.js';

/**
 * The values and errors of a form built from a JSON schema (a run's parameters, an approval's form).
 * A changed field loses its error; `placeRefusal` puts the API's field errors under their fields,
 * `fieldOf` naming the field a path is about, and any other under the raw JSON field.
 */
export function useSchemaForm(model: FormModel, defaults: Record<string, unknown>) {
  const [values, setValues] = useState<FormValues>(() => initialValues(model, defaults));
  const [errors, setErrors] = useState<Record<string, string>>({});

  const setValue = (name: string, value: string | boolean) => {
    setValues((v) => ({ ...v, [name]: value }));
    setErrors(({ [name]: _, ...rest }) => rest);
  };

  const placeRefusal = (failure: ApiFailure, fieldOf: (path: string) => string) => {
    const fieldErrors = failure.kind === 'http_error' ? failure.problem?.errors : undefined;
    if (!fieldErrors || fieldErrors.length === 0) return;
    const byField: Record<string, string> = {};
    for (const fe of fieldErrors) {
      const name = fieldOf(fe.path);
      byField[model.fields.some((f) => f.name === name) ? name : RAW_FIELD] = fe.message;
    }
    setErrors(byField);
  };

  return { values, errors, setErrors, setValue, placeRefusal };
}

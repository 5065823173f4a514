import type { ReactNode } from 'react';
import { Notice } from '../components/notice.js';
import { pluralise } from '../lib/format.js';
import { type FieldModel, type FormModel, type FormValues, RAW_FIELD } from '../lib/json-schema-form.js';

function hint(field: FieldModel): string | null {
  const parts: string[] = [];
  if (field.minimum !== null) parts.push(`≥ ${field.minimum}`);
  if (field.exclusiveMinimum !== null) parts.push(`> ${field.exclusiveMinimum}`);
  if (field.maximum !== null) parts.push(`≤ ${field.maximum}`);
  if (field.exclusiveMaximum !== null) parts.push(`< ${field.exclusiveMaximum}`);
  if (field.minLength !== null) parts.push(`at least ${pluralise(field.minLength, 'character')}`);
  if (field.maxLength !== null) parts.push(`at most ${pluralise(field.maxLength, 'character')}`);
  if (field.kind === 'array') parts.push('one item per line');
  if (field.kind === 'json') parts.push('JSON');
  return parts.length > 0 ? parts.join(' · ') : null;
}

export function ParameterField({
  field,
  value,
  error,
  onChange,
}: {
  field: FieldModel;
  value: string | boolean | undefined;
  error: string | undefined;
  onChange: (value: string | boolean) => void;
}) {
  const id = `param-${field.name}`;
  const text = typeof value === 'string' ? value : '';
  const common = { id, 'data-testid': id, 'aria-invalid': error ? true : undefined, name: field.name };
  let input: ReactNode;
  switch (field.kind) {
    case 'boolean':
      input = <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
      break;
    case 'enum':
      input = (
        <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
          {(!field.required || text === '') && <option value="">{field.required ? 'Choose…' : '(none)'}</option>}
          {field.options?.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
      break;
    case 'number':
    case 'integer':
      input = (
        <input
          {...common}
          type="text"
          inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'}
          value={text}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case 'array':
    case 'json':
      input = (
        <textarea
          {...common}
          className="mono"
          rows={field.kind === 'json' ? 5 : 3}
          value={text}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case 'string':
      input = <input {...common} type="text" value={text} onChange={(e) => onChange(e.target.value)} />;
      break;
  }
  const h = hint(field);
  return (
    <div className={`field${field.kind === 'boolean' ? ' field-inline' : ''}`}>
      <label htmlFor={id} className="field-label">
        {field.label}
        {field.required && field.kind !== 'boolean' && (
          <span className="required" title="required">
            {' '}
            *
          </span>
        )}
        <span className="field-type">{field.kind === 'array' ? `list of ${field.itemKind}` : field.kind}</span>
      </label>
      {input}
      {field.description && <span className="field-help">{field.description}</span>}
      {h && <span className="field-help">{h}</span>}
      {error && (
        <span className="field-error" data-testid={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

/** A schema form's model, what is typed into it, its errors by field, and where a change goes. */
interface FormInputsProps {
  model: FormModel;
  values: FormValues;
  errors: Record<string, string>;
  onChange: (name: string, value: string | boolean) => void;
}

/** A field for each property of a schema's form, in the schema's order, each with its error. */
export function ParameterFields({ model, values, errors, onChange }: FormInputsProps) {
  return model.fields.map((field) => (
    <ParameterField
      key={field.name}
      field={field}
      value={values[field.name]}
      error={errors[field.name]}
      onChange={(v) => onChange(field.name, v)}
    />
  ));
}

/**
 * A schema form's inputs: a field for each property, or, for a schema the form cannot lay out field
 * by field, one JSON text area labelled `rawLabel` with its error beneath it. An error of the form as
 * a whole shows after the fields.
 */
export function SchemaFormInputs({
  rawLabel,
  rawRows,
  empty,
  ...form
}: FormInputsProps & {
  rawLabel: string;
  rawRows: number;
  /** Said in place of the fields when the schema has none. @default nothing */
  empty?: ReactNode;
}) {
  const { model, values, onChange } = form;
  const formError = form.errors[RAW_FIELD];
  if (model.raw) {
    return (
      <label className="field">
        <span className="field-label">{rawLabel}</span>
        <textarea
          className="mono"
          rows={rawRows}
          value={String(values[RAW_FIELD] ?? '')}
          onChange={(e) => onChange(RAW_FIELD, e.target.value)}
          data-testid="param-raw"
        />
        {formError && <span className="field-error">{formError}</span>}
      </label>
    );
  }
  return (
    <>
      {model.fields.length === 0 && empty ? empty : <ParameterFields {...form} />}
      {formError && <Notice>{formError}</Notice>}
    </>
  );
}

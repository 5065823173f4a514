import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { buildFormModel, initialValues } from '../src/lib/json-schema-form.js';
import { ParameterFields } from '../src/pages/parameter-field.js';

const SCHEMA = {
  type: 'object',
  properties: { dataset: { type: 'string' }, epochs: { type: 'integer', default: 10 } },
  required: ['dataset'],
};

describe("the fields of a run's parameters and of an approval's form", () => {
  it("show a field per property in the schema's order, each with its value and its own error", () => {
    const model = buildFormModel(SCHEMA);
    const html = renderToStaticMarkup(
      <ParameterFields model={model} values={initialValues(model, {})} errors={{ dataset: 'Required.' }} onChange={() => {}} />,
    );
    expect(html.indexOf('dataset')).toBeGreaterThanOrEqual(0);
    expect(html.indexOf('dataset')).toBeLessThan(html.indexOf('epochs'));
    expect(html).toContain('value="10"');
    expect(html).toContain('Required.');
  });
});

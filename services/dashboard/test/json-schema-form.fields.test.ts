import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildFormModel, initialValues, RAW_FIELD, validateForm } from '../src/lib/json-schema-form.js';

const params = z.object({
  dataset: z.string().min(3).max(20).describe('Dataset name'),
  epochs: z.number().int().min(1).max(100).default(10),
  learningRate: z.number().gt(0).lt(1),
  mode: z.enum(['fast', 'accurate']),
  dryRun: z.boolean().default(false),
  layers: z.array(z.number().int().min(1)).min(1).max(4),
  labels: z.array(z.enum(['cat', 'dog'])).optional(),
  note: z.string().optional(),
  seed: z.number().int().nullable(),
  options: z.object({ a: z.string() }).optional(),
  code: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
});
const schema = z.toJSONSchema(params) as Record<string, unknown>;

function model() {
  return buildFormModel(schema);
}

function field(name: string) {
  const f = model().fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name}`);
  return f;
}

const valid = {
  dataset: 'mnist',
  epochs: '10',
  learningRate: '0.01',
  mode: 'fast',
  dryRun: false,
  layers: '64\n32',
  labels: '',
  note: '',
  seed: '',
  options: '',
  code: '',
};

describe('parameter form model', () => {
  it('turns each property of a zod-generated schema into a field of the matching kind', () => {
    const kinds = Object.fromEntries(model().fields.map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({
      dataset: 'string',
      epochs: 'integer',
      learningRate: 'number',
      mode: 'enum',
      dryRun: 'boolean',
      layers: 'array',
      labels: 'array',
      note: 'string',
      seed: 'integer',
      options: 'json',
      code: 'string',
    });
    expect(model().raw).toBe(false);
  });

  it('reads required, defaults, bounds, enums, descriptions and nullability', () => {
    expect(field('dataset')).toMatchObject({ required: true, minLength: 3, maxLength: 20, description: 'Dataset name' });
    expect(field('epochs')).toMatchObject({ defaultValue: 10, minimum: 1, maximum: 100 });
    expect(field('learningRate')).toMatchObject({ exclusiveMinimum: 0, exclusiveMaximum: 1, minimum: null });
    expect(field('mode').options).toEqual(['fast', 'accurate']);
    expect(field('layers')).toMatchObject({ itemKind: 'integer', minItems: 1, maxItems: 4, minimum: 1 });
    expect(field('labels')).toMatchObject({ itemKind: 'enum', options: ['cat', 'dog'], required: false });
    expect(field('note').required).toBe(false);
    expect(field('seed')).toMatchObject({ nullable: true, required: true });
    expect(field('code').pattern).toBe('^[A-Z]{3}$');
    expect(field('epochs').label).toBe('Epochs');
    expect(field('learningRate').label).toBe('Learning rate');
  });

  it('does not show the safe-integer bounds zod writes for every integer', () => {
    const f = buildFormModel(z.toJSONSchema(z.object({ n: z.number().int() }))).fields[0];
    expect(f).toMatchObject({ kind: 'integer', minimum: null, maximum: null });
  });

  it('starts from the deployment defaults, then the schema defaults', () => {
    const values = initialValues(model(), { dataset: 'cifar', layers: [8, 16] });
    expect(values.dataset).toBe('cifar');
    expect(values.epochs).toBe('10');
    expect(values.dryRun).toBe(false);
    expect(values.layers).toBe('8\n16');
    expect(values.note).toBe('');
  });

  it('shows the fields in the order the flow wrote them, whatever order the stored schema has', () => {
    const stored = {
      type: 'object',
      // As Postgres returns it: shortest key first.
      properties: { z: { type: 'string' }, epochs: { type: 'integer' }, dataset: { type: 'string' } },
      'x-outpost-order': ['dataset', 'epochs', 'z'],
    };
    expect(buildFormModel(stored).fields.map((f) => f.name)).toEqual(['dataset', 'epochs', 'z']);
    // A schema stored before the annotation existed keeps its own order; names the annotation misses follow.
    delete (stored as Record<string, unknown>)['x-outpost-order'];
    expect(buildFormModel(stored).fields.map((f) => f.name)).toEqual(['z', 'epochs', 'dataset']);
    expect(buildFormModel({ ...stored, 'x-outpost-order': ['dataset'] }).fields.map((f) => f.name)).toEqual([
      'dataset',
      'z',
      'epochs',
    ]);
  });

  it('falls back to one raw JSON field when there is no usable schema', () => {
    const raw = buildFormModel(null);
    expect(raw).toEqual({ fields: [], raw: true });
    expect(initialValues(raw, { a: 1 })[RAW_FIELD]).toBe('{\n  "a": 1\n}');
    expect(validateForm(raw, { [RAW_FIELD]: '{"a": [1, 2]}' })).toEqual({ ok: true, parameters: { a: [1, 2] } });
    expect(validateForm(raw, { [RAW_FIELD]: '[1]' })).toEqual({
      ok: false,
      errors: { [RAW_FIELD]: 'Parameters must be a JSON object' },
    });
    expect(validateForm(raw, { [RAW_FIELD]: '{' })).toMatchObject({ ok: false });
  });
});

describe('parameter form validation', () => {
  it('produces typed parameters that the original zod schema accepts', () => {
    const result = validateForm(model(), { ...valid, labels: 'cat\ndog', note: '  spaced  ', options: '{"a":"x"}', code: 'ABC' });
    expect(result).toEqual({
      ok: true,
      parameters: {
        dataset: 'mnist',
        epochs: 10,
        learningRate: 0.01,
        mode: 'fast',
        dryRun: false,
        layers: [64, 32],
        labels: ['cat', 'dog'],
        note: '  spaced  ',
        seed: null,
        options: { a: 'x' },
        code: 'ABC',
      },
    });
    if (result.ok) expect(params.safeParse(result.parameters).success).toBe(true);
  });

  it('leaves empty optional fields out', () => {
    const result = validateForm(model(), valid);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Object.keys(result.parameters)).not.toContain('note');
      expect(Object.keys(result.parameters)).not.toContain('labels');
      expect(params.safeParse(result.parameters).success).toBe(true);
    }
  });

  it('names every invalid field with a readable message', () => {
    const result = validateForm(model(), {
      ...valid,
      dataset: 'ab',
      epochs: '2.5',
      learningRate: '1',
      mode: 'slow',
      layers: '64\nzero',
      labels: 'cat\nbird',
      options: '{nope',
      code: 'abc',
    });
    expect(result).toEqual({
      ok: false,
      errors: {
        dataset: 'Dataset must have at least 3 characters',
        epochs: 'Epochs must be a whole number',
        learningRate: 'Learning rate must be less than 1',
        mode: 'Mode must be one of fast, accurate',
        layers: 'Layers item 2 must be a number',
        labels: 'Labels item 2 must be one of cat, dog',
        options: 'Options must be valid JSON',
        code: 'Code must match ^[A-Z]{3}$',
      },
    });
  });

  it('requires required fields and enforces bounds and item counts', () => {
    const result = validateForm(model(), { ...valid, dataset: '', epochs: '0', learningRate: '', layers: '' });
    expect(result).toEqual({
      ok: false,
      errors: {
        dataset: 'Dataset is required',
        epochs: 'Epochs must be at least 1',
        learningRate: 'Learning rate is required',
        layers: 'Layers is required',
      },
    });
    const tooMany = validateForm(model(), { ...valid, epochs: '101', layers: '1\n2\n3\n4\n5' });
    expect(tooMany).toMatchObject({
      ok: false,
      errors: { epochs: 'Epochs must be at most 100', layers: 'Layers takes at most 4 items' },
    });
  });

  it('rejects text that only looks like a number', () => {
    const result = validateForm(model(), { ...valid, learningRate: '0.1abc', epochs: 'Infinity' });
    expect(result).toMatchObject({
      ok: false,
      errors: { learningRate: 'Learning rate must be a number', epochs: 'Epochs must be a number' },
    });
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatCsv, parseCsv } from '../src/csv.js';
import { COLUMNS } from '../src/customers.js';
import { DatasetError, splitTrainTest, validateCustomers } from '../src/dataset.js';
import { renderEmbeddedModule } from '../src/embed.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { generateCsv, SHIPPED_DATASETS } from '../src/generate.js';
import { Random } from '../src/random.js';

const header = COLUMNS.join(',');
const good = 'C00001,12,49.90,2,standard,monthly,north,3,1';

describe('the shipped datasets', () => {
  it('are exactly what the seeded generator produces, in the CSV files and in the embedded module', async () => {
    const embedded: Record<string, string> = {};
    for (const [name, options] of Object.entries(SHIPPED_DATASETS)) {
      const generated = generateCsv(options);
      expect(await readFile(new URL(`../data/${name}.csv`, import.meta.url), 'utf8')).toBe(generated);
      expect(EMBEDDED_DATASETS[name]).toBe(generated);
      embedded[name] = generated;
    }
    expect(await readFile(new URL('../src/embedded-data.ts', import.meta.url), 'utf8')).toBe(renderEmbeddedModule(embedded));
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const first = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(first);
  });

  it('hold labelled history with a churn rate between 20% and 45% and a few defective rows', () => {
    const { customers, rejected } = validateCustomers(EMBEDDED_DATASETS.customers ?? '');
    expect(customers).toHaveLength(800 - rejected.length);
    expect(rejected.length).toBeGreaterThan(3);
    expect(rejected.length).toBeLessThan(30);
    const rate = customers.filter((c) => c.churned === 1).length / customers.length;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.45);
  });

  it('hold active customers without an outcome', () => {
    const { customers, rejected } = validateCustomers(EMBEDDED_DATASETS['active-customers'] ?? '');
    expect(rejected).toEqual([]);
    expect(customers).toHaveLength(400);
    expect(customers.every((c) => c.churned === null)).toBe(true);
  });
});

describe('validateCustomers', () => {
  it('accepts a well-formed row and converts its cells to typed values', () => {
    const { customers, rejected } = validateCustomers(`${header}\n${good}\n`);
    expect(rejected).toEqual([]);
    expect(customers).toEqual([
      {
        customerId: 'C00001',
        tenureMonths: 12,
        monthlyCharges: 49.9,
        supportTickets: 2,
        plan: 'standard',
        contract: 'monthly',
        region: 'north',
        lastLoginDays: 3,
        churned: 1,
      },
    ]);
  });

  it('sets aside each bad row with its line number and the column to fix, keeping the good ones', () => {
    const csv = [
      header,
      good,
      'C00002,12,,2,standard,monthly,north,3,0',
      'C00003,-4,20,2,standard,monthly,north,3,0',
      'C00004,12,20,2,gold,monthly,north,3,0',
      'C00005,12,20,2,basic,monthly,north,3,yes',
      'C00001,12,20,2,basic,monthly,north,3,0',
      'C00006,12,20',
    ].join('\n');
    const { customers, rejected } = validateCustomers(csv);
    expect(customers.map((c) => c.customerId)).toEqual(['C00001']);
    expect(rejected).toEqual([
      { line: 3, customerId: 'C00002', reason: 'monthly_charges: missing value' },
      { line: 4, customerId: 'C00003', reason: expect.stringMatching(/^tenure_months: /) },
      { line: 5, customerId: 'C00004', reason: expect.stringMatching(/^plan: /) },
      { line: 6, customerId: 'C00005', reason: 'churned: expected 0, 1 or an empty cell' },
      { line: 7, customerId: 'C00001', reason: 'duplicate customer id, first seen on line 2' },
      { line: 8, customerId: 'C00006', reason: 'expected 9 cells, found 3' },
    ]);
  });

  it('refuses a file whose header is not the expected columns', () => {
    expect(() => validateCustomers('id,tenure\n1,2\n')).toThrow(DatasetError);
    expect(() => validateCustomers('')).toThrow(/empty file/);
  });

  it('reads quoted cells and CRLF line ends', () => {
    expect(parseCsv('a,"b,""c"""\r\n\r\n1,2\n')).toEqual([
      { line: 1, cells: ['a', 'b,"c"'] },
      { line: 3, cells: ['1', '2'] },
    ]);
    expect(formatCsv([['x', 'y,"z"']])).toBe('x,"y,""z"""\n');
    expect(() => parseCsv('a,"b\n')).toThrow(/unterminated/);
  });
});

describe('splitTrainTest', () => {
  const { customers } = validateCustomers(EMBEDDED_DATASETS.customers ?? '');

  it('holds out the requested fraction of each class, the same way for the same seed', () => {
    const first = splitTrainTest(customers, 0.25, 7);
    const again = splitTrainTest(customers, 0.25, 7);
    const other = splitTrainTest(customers, 0.25, 8);
    expect(first).toEqual(again);
    expect(other.test).not.toEqual(first.test);
    expect(first.train.length + first.test.length).toBe(customers.length);
    expect(first.test.length / customers.length).toBeCloseTo(0.25, 2);
    const rate = (rows: { churned: number }[]) => rows.filter((r) => r.churned === 1).length / rows.length;
    expect(Math.abs(rate(first.test) - rate(first.train))).toBeLessThan(0.01);
    const trainIds = new Set(first.train.map((c) => c.customerId));
    expect(first.test.some((c) => trainIds.has(c.customerId))).toBe(false);
  });

  it('rejects a test fraction outside (0, 1)', () => {
    expect(() => splitTrainTest(customers, 1, 1)).toThrow(RangeError);
  });
});

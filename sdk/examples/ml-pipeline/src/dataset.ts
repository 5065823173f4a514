import { parseCsv } from './csv.js';
import { COLUMNS, type Customer, CustomerSchema, FIELD_COLUMNS, isLabelled, type LabelledCustomer } from './customers.js';
import { Random } from './random.js';

export interface RejectedRow {
  /** 1-based line in the CSV file. */
  line: number;
  customerId: string | null;
  reason: string;
}

export interface ValidatedDataset {
  customers: Customer[];
  rejected: RejectedRow[];
}

/** The file itself is unusable (wrong columns, broken quoting), as opposed to some bad rows. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

const NUMERIC = new Set<string>(['tenure_months', 'monthly_charges', 'support_tickets', 'last_login_days']);

/** CSV cells → the schema's input: empty numeric cells stay missing instead of becoming 0. */
function toInput(cells: readonly string[]): Record<string, unknown> {
  const value = (column: string, cell: string): unknown => {
    if (cell === '') return column === 'churned' ? null : undefined;
    if (NUMERIC.has(column)) return Number(cell);
    if (column === 'churned') return cell === '0' ? 0 : cell === '1' ? 1 : cell;
    return cell;
  };
  const [customerId, tenure, charges, tickets, plan, contract, region, lastLogin, churned] = COLUMNS.map((column, i) =>
    value(column, cells[i] ?? ''),
  );
  return {
    customerId,
    tenureMonths: tenure,
    monthlyCharges: charges,
    supportTickets: tickets,
    plan,
    contract,
    region,
    lastLoginDays: lastLogin,
    churned,
  };
}

/**
 * Parses and checks a customer CSV. Rows that break a rule are set aside with the reason (so a
 * person can fix the export) rather than failing the whole file; a file with the wrong columns throws.
 */
export function validateCustomers(csv: string): ValidatedDataset {
  let rows: ReturnType<typeof parseCsv>;
  try {
    rows = parseCsv(csv);
  } catch (error) {
    throw new DatasetError(`the CSV cannot be parsed: ${(error as Error).message}`, { cause: error });
  }
  const [header, ...body] = rows;
  if (!header || header.cells.join(',') !== COLUMNS.join(',')) {
    throw new DatasetError(
      `expected the header ${COLUMNS.join(',')}, found ${header ? header.cells.join(',') : 'an empty file'}`,
    );
  }
  const customers: Customer[] = [];
  const rejected: RejectedRow[] = [];
  const seen = new Map<string, number>();
  for (const { line, cells } of body) {
    const customerId = cells[0] || null;
    if (cells.length !== COLUMNS.length) {
      rejected.push({ line, customerId, reason: `expected ${COLUMNS.length} cells, found ${cells.length}` });
      continue;
    }
    const parsed = CustomerSchema.safeParse(toInput(cells));
    if (!parsed.success) {
      const reason = parsed.error.issues
        .map((issue) => `${FIELD_COLUMNS[String(issue.path[0])] ?? 'row'}: ${issue.message}`)
        .join('; ');
      rejected.push({ line, customerId, reason });
      continue;
    }
    const first = seen.get(parsed.data.customerId);
    if (first !== undefined) {
      rejected.push({ line, customerId, reason: `duplicate customer id, first seen on line ${first}` });
      continue;
    }
    seen.set(parsed.data.customerId, line);
    customers.push(parsed.data);
  }
  return { customers, rejected };
}

/**
 * A stratified split: each class is shuffled with `seed` and cut at the same fraction, so the
 * test set keeps the churn rate of the whole and the same seed always gives the same split.
 */
export function splitTrainTest(
  customers: readonly Customer[],
  testFraction: number,
  seed: number,
): { train: LabelledCustomer[]; test: LabelledCustomer[] } {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  const random = new Random(seed);
  const train: LabelledCustomer[] = [];
  const test: LabelledCustomer[] = [];
  const labelled = customers.filter(isLabelled);
  for (const label of [0, 1] as const) {
    const group = random.shuffle(labelled.filter((c) => c.churned === label));
    const cut = Math.round(group.length * testFraction);
    test.push(...group.slice(0, cut));
    train.push(...group.slice(cut));
  }
  const byId = (a: Customer, b: Customer) => (a.customerId < b.customerId ? -1 : 1);
  return { train: train.sort(byId), test: test.sort(byId) };
}

import { formatCsv } from './csv.js';
import { COLUMNS, type CONTRACTS, type Customer, type PLANS, REGIONS, toCells } from './customers.js';
import { Random } from './random.js';

export interface GenerateOptions {
  seed: number;
  count: number;
  /** Number of the first customer id (`C10001`…). */
  firstId: number;
  /** Draw the churn outcome; false leaves `churned` empty (customers still active). */
  labelled: boolean;
  /** Fraction of rows given one realistic data-entry defect, for validation to catch. @default 0 */
  defectRate?: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

const CONTRACT_EFFECT: Record<(typeof CONTRACTS)[number], number> = { monthly: 1.1, annual: -0.3, 'two-year': -1.3 };
const PLAN_PRICE: Record<(typeof PLANS)[number], [mean: number, sd: number]> = {
  basic: [35, 6],
  standard: [65, 8],
  premium: [95, 10],
};

/**
 * A synthetic subscription business. Churn follows a known logistic law (short tenure, high
 * charges, many support tickets, monthly contracts and long absences raise it) plus noise, so a
 * well-built model can reach an AUC near 0.8 but not 1.
 */
function drawCustomer(random: Random, id: number, labelled: boolean): Customer {
  const tenureMonths = Math.floor(72 * random.next() ** 1.3);
  const contract =
    tenureMonths > 24
      ? random.weighted([
          ['monthly', 0.35],
          ['annual', 0.35],
          ['two-year', 0.3],
        ] as const)
      : random.weighted([
          ['monthly', 0.7],
          ['annual', 0.22],
          ['two-year', 0.08],
        ] as const);
  const plan = random.weighted([
    ['basic', 0.45],
    ['standard', 0.35],
    ['premium', 0.2],
  ] as const);
  const [priceMean, priceSd] = PLAN_PRICE[plan];
  const monthlyCharges = Math.round(clamp(random.normal(priceMean, priceSd), 10, 200) * 100) / 100;
  const supportTickets = Math.min(20, Math.floor(-Math.log(1 - random.next()) * (plan === 'basic' ? 2 : 1.4)));
  const region = REGIONS[random.int(0, REGIONS.length - 1)] ?? 'north';
  const lastLoginDays = Math.min(365, Math.floor(-Math.log(1 - random.next()) * 12));
  const logit =
    -1.0 -
    0.045 * tenureMonths +
    0.022 * (monthlyCharges - 60) +
    0.38 * supportTickets +
    CONTRACT_EFFECT[contract] +
    0.04 * lastLoginDays +
    (region === 'south' ? 0.25 : 0) +
    random.normal(0, 0.6);
  const churned = labelled ? (random.next() < sigmoid(logit) ? 1 : 0) : null;
  return {
    customerId: `C${String(id).padStart(5, '0')}`,
    tenureMonths,
    monthlyCharges,
    supportTickets,
    plan,
    contract,
    region,
    lastLoginDays,
    churned,
  };
}

/** The defects a hand-maintained export really has: blanks, signs, unknown codes, free text, duplicates. */
function damage(random: Random, cells: string[], previousId: string | undefined): string[] {
  const damaged = [...cells];
  switch (random.int(0, 4)) {
    case 0:
      damaged[2] = '';
      break;
    case 1:
      damaged[1] = `-${damaged[1] === '0' ? '1' : damaged[1]}`;
      break;
    case 2:
      damaged[4] = 'gold';
      break;
    case 3:
      damaged[8] = damaged[8] === '1' ? 'yes' : 'no';
      break;
    default:
      if (previousId) damaged[0] = previousId;
      else damaged[2] = '';
  }
  return damaged;
}

/** The dataset as CSV text: the same options always give the same bytes. */
export function generateCsv(options: GenerateOptions): string {
  const random = new Random(options.seed);
  const rows: string[][] = [[...COLUMNS]];
  let previousId: string | undefined;
  for (let i = 0; i < options.count; i++) {
    const customer = drawCustomer(random, options.firstId + i, options.labelled);
    let cells = toCells(customer);
    if (random.next() < (options.defectRate ?? 0)) cells = damage(random, cells, previousId);
    previousId = customer.customerId;
    rows.push(cells);
  }
  return formatCsv(rows);
}

/** The two files the example ships: customers with a known outcome, and active ones to score. */
export const SHIPPED_DATASETS = {
  customers: { seed: 20_240_601, count: 800, firstId: 10_001, labelled: true, defectRate: 0.015 },
  'active-customers': { seed: 20_240_602, count: 400, firstId: 20_001, labelled: false },
} as const satisfies Record<string, GenerateOptions>;

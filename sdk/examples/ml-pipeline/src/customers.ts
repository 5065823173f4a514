import { z } from '@outpost/sdk';

export const PLANS = ['basic', 'standard', 'premium'] as const;
export const CONTRACTS = ['monthly', 'annual', 'two-year'] as const;
export const REGIONS = ['north', 'south', 'east', 'west'] as const;

/** The CSV columns, in file order; `churned` is empty for customers whose outcome is not known yet. */
export const COLUMNS = [
  'customer_id',
  'tenure_months',
  'monthly_charges',
  'support_tickets',
  'plan',
  'contract',
  'region',
  'last_login_days',
  'churned',
] as const;

export type Column = (typeof COLUMNS)[number];

/** The CSV column behind each field, so a rejected row names the cell a person has to fix. */
export const FIELD_COLUMNS: Record<string, Column> = {
  customerId: 'customer_id',
  tenureMonths: 'tenure_months',
  monthlyCharges: 'monthly_charges',
  supportTickets: 'support_tickets',
  plan: 'plan',
  contract: 'contract',
  region: 'region',
  lastLoginDays: 'last_login_days',
  churned: 'churned',
};

const missing = { error: (issue: { input: unknown }) => (issue.input === undefined ? 'missing value' : undefined) };
const count = (max: number) => z.number(missing).int().min(0).max(max);

/** One customer as the pipeline trusts it; every range is a business rule (a tenure over 20 years is an import error). */
export const CustomerSchema = z.strictObject({
  customerId: z.string().regex(/^C\d{5}$/, 'expected C followed by five digits'),
  tenureMonths: count(240),
  monthlyCharges: z.number(missing).min(0).max(1000),
  supportTickets: count(100),
  plan: z.enum(PLANS),
  contract: z.enum(CONTRACTS),
  region: z.enum(REGIONS),
  lastLoginDays: count(3650),
  churned: z.union([z.literal(0), z.literal(1)], { error: 'expected 0, 1 or an empty cell' }).nullable(),
});

export type Customer = z.output<typeof CustomerSchema>;

/** A customer whose outcome is known: what training and evaluation need. */
export type LabelledCustomer = Customer & { churned: 0 | 1 };

export function isLabelled(customer: Customer): customer is LabelledCustomer {
  return customer.churned !== null;
}

/** The row as CSV cells, in `COLUMNS` order. */
export function toCells(customer: Customer): string[] {
  return [
    customer.customerId,
    String(customer.tenureMonths),
    customer.monthlyCharges.toFixed(2),
    String(customer.supportTickets),
    customer.plan,
    customer.contract,
    customer.region,
    String(customer.lastLoginDays),
    customer.churned === null ? '' : String(customer.churned),
  ];
}

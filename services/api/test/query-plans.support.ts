import type postgres from 'postgres';

/** A node of a plan as `EXPLAIN (FORMAT JSON)` gives it, with the fields the suites read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, the root first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/** A statement exactly as a connection sent it, caught by its `debug` hook. */
export interface SentStatement {
  query: string;
  parameters: unknown[];
}

/**
 * Every node of the plan Postgres makes for `statement`, root first, with `setting` (a `SET LOCAL`
 * the code under test runs first) in force as it was when the statement ran.
 */
export async function explainedPlan(sql: postgres.Sql, statement: SentStatement, setting: string): Promise<PlanNode[]> {
  const [row] = await sql.begin(async (tx) => {
    await tx.unsafe(setting);
    return tx.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      `EXPLAIN (FORMAT JSON) ${statement.query}`,
      statement.parameters as never[],
    );
  });
  return planNodes((row as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
}

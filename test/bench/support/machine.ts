import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import postgres from 'postgres';

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  embeddedPostgres: boolean;
  /** 1-minute load average when the suite started: other work on the machine skews every figure. */
  loadAverage: number;
}

export async function postgresVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ server_version: string }[]>`SHOW server_version`;
    return row?.server_version ?? 'unknown';
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** What the figures were measured on: without it a results file cannot be compared with another. */
export function describeMachine(postgresVersion: string, embeddedPostgres: boolean): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    postgres: postgresVersion,
    embeddedPostgres,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { SpinnerHost } from '../src/spinner.js';
import { animates, colorsFor } from '../src/style.js';
import { CLI } from './cli.support.js';

const CLEAR = '\r\u001b[2K';
const plain = colorsFor(false, {}, false);

function host(options: { enabled?: boolean; columns?: number } = {}) {
  const writes: string[] = [];
  const lines: string[] = [];
  const spinners = new SpinnerHost({
    write: (chunk) => writes.push(chunk),
    enabled: options.enabled ?? true,
    colors: plain,
    columns: () => options.columns,
    intervalMs: 80,
    delayMs: 150,
  });
  const print = (line: string) => spinners.line(line, (l) => lines.push(l));
  return { spinners, writes, lines, print };
}

describe('the spinner', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('draws after a short delay, turns a frame each interval, keeps printed lines above it and clears its row when stopped', () => {
    vi.useFakeTimers();
    const { spinners, writes, lines, print } = host();
    const spinner = spinners.start('waiting…');
    expect(spinner.animating).toBe(true);
    vi.advanceTimersByTime(149);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual([`${CLEAR}⠋ waiting…`]);
    vi.advanceTimersByTime(160);
    expect(writes.slice(1)).toEqual([`${CLEAR}⠙ waiting…`, `${CLEAR}⠹ waiting…`]);
    writes.length = 0;
    print('state: PENDING');
    expect(lines).toEqual(['state: PENDING']);
    expect(writes).toEqual([CLEAR, `${CLEAR}⠹ waiting…`]);
    spinner.update('pushing…');
    expect(writes.at(-1)).toBe(`${CLEAR}⠹ pushing…`);
    writes.length = 0;
    spinner.stop();
    expect(writes).toEqual([CLEAR]);
    vi.advanceTimersByTime(1000);
    spinner.update('late');
    print('done');
    expect(writes).toEqual([CLEAR]);
    expect(lines).toEqual(['state: PENDING', 'done']);
  });

  test('leaves no trace when the wait ends before the delay, and keeps to one row of a narrow terminal, or of one that reports no width', () => {
    vi.useFakeTimers();
    const quick = host();
    quick.spinners.start('reproducing…').stop();
    vi.advanceTimersByTime(1000);
    expect(quick.writes).toEqual([]);

    const narrow = host({ columns: 12 });
    narrow.spinners.start('building a rather long project name…');
    vi.advanceTimersByTime(150);
    expect(narrow.writes).toEqual([`${CLEAR}⠋ building…`]);
    narrow.spinners.stop();

    // A pseudo-terminal may report a width of 0: that is no width, not no room.
    const unsized = host({ columns: 0 });
    unsized.spinners.start('building a rather long project name…');
    vi.advanceTimersByTime(150);
    expect(unsized.writes).toEqual([`${CLEAR}⠋ building a rather long project name…`]);
    unsized.spinners.stop();
  });

  test('writes nothing at all when disabled, and lines pass straight through', () => {
    vi.useFakeTimers();
    const { spinners, writes, lines, print } = host({ enabled: false });
    const spinner = spinners.start('waiting…');
    expect(spinner.animating).toBe(false);
    vi.advanceTimersByTime(1000);
    print('a line');
    spinner.stop();
    expect(writes).toEqual([]);
    expect(lines).toEqual(['a line']);
  });

  test('animates on a terminal only: not on a pipe (even with FORCE_COLOR), nor with --json, NO_COLOR or TERM=dumb', () => {
    expect(animates(true, {}, false)).toBe(true);
    expect(animates(false, {}, false)).toBe(false);
    expect(animates(false, { FORCE_COLOR: '1' }, false)).toBe(false);
    expect(animates(true, {}, true)).toBe(false);
    expect(animates(true, { NO_COLOR: '1' }, false)).toBe(false);
    expect(animates(true, { NO_COLOR: '' }, false)).toBe(true);
    expect(animates(true, { TERM: 'dumb' }, false)).toBe(false);
  });
});

/** `outpost <args>` on a pseudo-terminal (util-linux `script`), so stdout and stderr are TTYs; the output is both, as the terminal shows it. */
function onTerminal(args: string[], env: Record<string, string>) {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child: ChildProcess = spawn('script', ['-q', '-f', '-e', '-c', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { output: () => output, exited };
}

async function until(check: () => boolean, what: string, detail?: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${detail ? `: ${JSON.stringify(detail().slice(-1500))}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the spinner of outpost run --watch on a terminal', () => {
  let server: TestServer;
  let owner: OutpostClient;

  beforeAll(async () => {
    server = await startTestServer({ loops: false });
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: 'idle', name: 'tty', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await owner?.close();
    await server?.close();
  });

  function watch(name: string, env: Record<string, string>) {
    return onTerminal(['run', 'idle/tty', '--name', name, '--watch'], {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: server.ownerKey,
      ...env,
    });
  }

  async function cancel(name: string): Promise<void> {
    const [run] = unwrap(await owner.call('flowRunsList', { query: { name, limit: 1 } })).items;
    if (!run) throw new Error(`no run named ${name}`);
    unwrap(await owner.call('flowRunsCancel', { params: { id: run.id }, body: { transitionId: randomUUID(), message: 'over' } }));
  }

  test('spins while the run waits for a worker and clears its row before the end is printed; with NO_COLOR it draws nothing', async () => {
    // The NO_COLOR watch starts first, so by the time the other has drawn a frame it has waited longer than a spinner's delay.
    const quiet = watch('tty-no-color', { NO_COLOR: '1' });
    await until(() => quiet.output().includes('following it'), 'the NO_COLOR watch to follow its run');
    const spinning = watch('tty-color', {});
    await until(() => /⠋[^ ]* [^\n]*waiting for the run to start…/.test(spinning.output()), 'the spinner', spinning.output);
    await until(() => /⠙[^ ]* [^\n]*waiting for the run to start…/.test(spinning.output()), 'the spinner to turn');
    await cancel('tty-color');
    await cancel('tty-no-color');

    expect(await spinning.exited).toBe(1);
    const shown = spinning.output();
    expect(shown).toMatch(/run tty-color ended .*CANCELLED/);
    const end = shown.lastIndexOf('run tty-color ended');
    const lastFrame = shown.lastIndexOf('waiting for the run to start…');
    expect(lastFrame).toBeLessThan(end);
    expect(shown.slice(lastFrame, end)).toContain(CLEAR);

    expect(await quiet.exited).toBe(1);
    const plainText = quiet.output();
    expect(plainText).toMatch(/run tty-no-color ended CANCELLED/);
    expect(plainText).not.toContain('waiting for the run to start…');
    expect(plainText).not.toContain('\u001b');
  });
});

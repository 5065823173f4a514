import { describe, expect, it } from 'vitest';
import { positionalRange } from '../src/command.js';
import { CliError } from '../src/errors.js';
import { importOptional } from '../src/handover.js';
import { buildParameters, coerceValue, parseParam } from '../src/params.js';
import { closedPort, outpost } from './cli.support.js';

describe('--param coercion', () => {
  it('reads values that are valid JSON as JSON and everything else as a string', () => {
    expect(parseParam('n=3')).toEqual(['n', 3]);
    expect(parseParam('name=alice')).toEqual(['name', 'alice']);
    expect(parseParam('ok=true')).toEqual(['ok', true]);
    expect(parseParam('xs=[1,2]')).toEqual(['xs', [1, 2]]);
    expect(parseParam('cfg={"a":1}')).toEqual(['cfg', { a: 1 }]);
    expect(parseParam('nothing=null')).toEqual(['nothing', null]);
    expect(parseParam('s="3"')).toEqual(['s', '3']);
  });

  it('keeps everything after the first equals sign, and an empty value as an empty string', () => {
    expect(parseParam('expr=a=b')).toEqual(['expr', 'a=b']);
    expect(parseParam('empty=')).toEqual(['empty', '']);
    expect(coerceValue(' ')).toBe(' ');
  });

  it('rejects an assignment without a key', () => {
    expect(() => parseParam('=3')).toThrow(/key=value/);
    expect(() => parseParam('n')).toThrow(/key=value/);
  });

  it('lets --param override --params-json and later --param override earlier ones', () => {
    expect(buildParameters('{"n": 1, "name": "bob"}', ['n=2', 'n=5'])).toEqual({ n: 5, name: 'bob' });
  });

  it('rejects --params-json that is not a JSON object', () => {
    expect(() => buildParameters('[1]', [])).toThrow(/JSON object/);
    expect(() => buildParameters('{nope', [])).toThrow(/not valid JSON/);
  });
});

describe('outpost command line', () => {
  it('lists every command in --help and exits 0', async () => {
    const r = await outpost(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'deploy',
      'run <flow>/<deployment>',
      'logs <run>',
      'runs ls',
      'runs cancel',
      'runs retry',
      'deployments ls',
      'pools create',
      'workers ls',
      'keys create',
      'keys revoke',
      'server start',
      'worker start',
      'dev',
    ]) {
      expect(r.stdout).toContain(c);
    }
  });

  it('lists each command once in --help', async () => {
    const r = await outpost(['--help']);
    const lines = r.stdout.split('\n');
    const commands = lines.slice(lines.indexOf('Commands:') + 1, lines.indexOf('Global options:') - 1);
    expect(commands.length).toBeGreaterThan(50);
    const names = commands.map((line) => line.trim().split(/\s{2,}/)[0]);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    expect(repeated).toEqual([]);
    expect(names).toContain('pools update <pool>');
  });

  it("shows a command's own options with --help", async () => {
    const r = await outpost(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--param <key=value>');
    expect(r.stdout).toContain('--idempotency-key');
    expect(r.stdout).toContain('--api-url');
  });

  it('exits 2 on an unknown command, an unknown option or a missing argument', async () => {
    const unknown = await outpost(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: frobnicate');

    const badOption = await outpost(['runs', 'ls', '--bogus'], { env: { OUTPOST_API_KEY: 'op_x' } });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Unknown option '--bogus'/);
    expect(badOption.stderr).not.toMatch(/\n\s+at /);

    const missing = await outpost(['logs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing argument');
  });

  it('takes as many arguments as the usage line names: <word> must be given, [word] may be, and word... takes any number more', () => {
    expect(positionalRange({})).toEqual({ min: 0, max: 0 });
    expect(positionalRange({ args: '<run>' })).toEqual({ min: 1, max: 1 });
    expect(positionalRange({ args: '<flow/deployment> <slug>' })).toEqual({ min: 2, max: 2 });
    expect(positionalRange({ args: '[<flow/deployment>]' })).toEqual({ min: 0, max: 1 });
    expect(positionalRange({ args: '<set> <key>...' })).toEqual({ min: 2, max: Number.POSITIVE_INFINITY });
    expect(positionalRange({ args: '<key>...', positionals: { min: 1, max: 2_000 } })).toEqual({ min: 1, max: 2_000 });
  });

  it('refuses an argument more than the usage line names, and one fewer', async () => {
    const extra = await outpost(['logs', 'run-1', 'run-2'], { env: { OUTPOST_API_KEY: 'op_x' } });
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "run-2"');

    const fewer = await outpost(['schedules', 'pause', 'etl/nightly'], { env: { OUTPOST_API_KEY: 'op_x' } });
    expect(fewer.code).toBe(2);
    expect(fewer.stderr).toContain('missing argument: outpost schedules pause <flow/deployment> <slug>');
  });

  it('lists a command group when its subcommand is missing', async () => {
    const r = await outpost(['runs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('runs ls');
    expect(r.stderr).toContain('runs cancel <run>');
  });

  it('exits 2 with advice when no API key is configured', async () => {
    const r = await outpost(['runs', 'ls']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no API key');
  });

  it('exits 2 on a malformed --param before calling any API', async () => {
    const r = await outpost(['run', 'hello/default', '--param', 'oops', '--api-url', 'http://127.0.0.1:9', '--api-key', 'op_x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--param must look like key=value');
  });

  it('exits 2 on a deployment reference that is not flow/name', async () => {
    const r = await outpost(['run', 'hello', '--api-url', 'http://127.0.0.1:9', '--api-key', 'op_x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('<flow>/<deployment>');
  });

  it('exits 3 with the URL when the API cannot be reached, and prints no stack trace', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await outpost(['runs', 'ls', '--api-url', url, '--api-key', 'op_x']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the API at ${url}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown state filter with the list of states', async () => {
    const r = await outpost(['runs', 'ls', '--state', 'RUNNING,DONE', '--api-key', 'op_x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown state "DONE"');
    expect(r.stderr).toContain('COMPLETED');
  });
});

describe('handing over to an optional package', () => {
  it('says how to install a package that is missing, with exit code 2', async () => {
    const error = await importOptional('@outpost/not-a-package', '`outpost server start`').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message).toContain('needs the @outpost/not-a-package package, which is not installed');
    expect((error as CliError).details).toContain('install it next to @outpost/cli: npm install @outpost/not-a-package');
  });

  it('takes the first installed of several packages, and names the last when none is', async () => {
    const sdk = await importOptional<{ defineConfig?: unknown }>(['@outpost/not-a-package', '@outpost/sdk'], '`x`');
    expect(typeof sdk.defineConfig).toBe('function');
    const error = await importOptional(['@outpost/not-a-package', '@outpost/nor-this'], '`outpost server start`').catch(
      (e: unknown) => e,
    );
    expect((error as CliError).details).toContain('install it next to @outpost/cli: npm install @outpost/nor-this');
  });
});

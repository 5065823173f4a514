import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const pythonDir = fileURLToPath(new URL('../python/', import.meta.url));

/** Runs the Python client's own unittest suite, which starts real Python processes that use it. */
function runUnittest(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-m', 'unittest', '-v', 'test_outpost_pipes'], {
      cwd: pythonDir,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

it('passes every test of the Python client, which reports back through real pipes and files', async () => {
  const source = readFileSync(new URL('../python/test_outpost_pipes.py', import.meta.url), 'utf8');
  const expected = source.match(/^\s*def test_/gm)?.length ?? 0;
  expect(expected).toBeGreaterThan(0);

  const { code, output } = await runUnittest();

  expect(output).toContain(`Ran ${expected} tests`);
  expect(code, output).toBe(0);
  expect(output).toMatch(/\nOK\n?$/);
});

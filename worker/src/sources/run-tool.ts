import { execFile } from 'node:child_process';
import { BundleError, type BundleErrorCode } from '@outpost/sdk/bundle';

/**
 * Variables git and npm may need from the worker's environment: identity, proxies, CA bundles, the
 * SSH agent, and their own settings. Anything else — the worker's API key above all — stays out,
 * because npm runs install scripts of the customer's dependencies and git runs configured helpers.
 */
const PASSED =
  /^(PATH|HOME|USER|LOGNAME|LANG|LC_.*|TZ|TMPDIR|SSH_AUTH_SOCK|GIT_SSH|GIT_SSH_COMMAND|GIT_SSL_CAINFO|GIT_SSL_CAPATH|GIT_CONFIG_GLOBAL|XDG_CONFIG_HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy|npm_config_.*|NPM_CONFIG_.*)$/;

export function toolEnv(workerEnv: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(workerEnv)) if (value !== undefined && PASSED.test(name)) env[name] = value;
  return { ...env, ...extra };
}

export interface ToolResult {
  stdout: string;
}

/**
 * Runs a program without a shell. A failure becomes a `BundleError` whose message names what was
 * being done and the last line of the program's error output — messages end up in a run's state,
 * so `mask` hides anything (a URL's user part) that should not.
 */
export function runTool(
  program: string,
  args: string[],
  options: {
    cwd?: string;
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    what: string;
    mask?: (text: string) => string;
    /** @default 'unreachable' */
    code?: BundleErrorCode;
  },
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout });
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        let why: string;
        if (failure.code === 'ENOENT') why = `${program} is not installed on the worker`;
        else if (failure.killed) why = `${program} did not finish within ${Math.round(options.timeoutMs / 1000)} s`;
        else {
          const lines = stderr
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.startsWith('npm warn'));
          why = lines.slice(-3).join(' / ') || `${program} exited with code ${String(failure.code)}`;
        }
        const mask = options.mask ?? ((text: string) => text);
        reject(new BundleError(options.code ?? 'unreachable', `${options.what}: ${mask(why).slice(0, 1000)}`));
      },
    );
  });
}

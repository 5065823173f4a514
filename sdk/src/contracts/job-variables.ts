/*
 * Which environment variables a job may set. Plain functions with no Node imports: the API checks a
 * deployment with them, the worker checks a claimed run again (it trusts no control plane), and the
 * dashboard may load this module in the browser.
 */

/**
 * Variables read when a program starts, that make it load or run code other than it was asked to:
 * the Node runtime's own (`NODE_OPTIONS=--import=…`, `NODE_PATH`), the dynamic loader's (`LD_PRELOAD`,
 * `DYLD_INSERT_LIBRARIES`), the shell's (`BASH_ENV`, `ENV`, exported functions), interpreters' search
 * paths and options (`PYTHONPATH`, `PYTHONSTARTUP`, `PERL5OPT`, `RUBYOPT`, `JAVA_TOOL_OPTIONS`), the C
 * library's (`GCONV_PATH`, `GLIBC_TUNABLES`, `MALLOC_*`), TLS trust (`OPENSSL_CONF`, `SSL_CERT_FILE`),
 * `PATH` itself, and git's hooks into commands (`GIT_SSH_COMMAND`, `GIT_CONFIG_*`). Whoever sets one
 * of them runs code in the flow's process, with its secrets; they belong to the worker's own
 * configuration (`--pass-env`), never to a job. Matched without regard to case.
 */
const STARTUP_VARIABLE =
  /^(NODE_.*|NPM_CONFIG_.*|LD_.*|DYLD_.*|PATH|BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|IFS|CDPATH|PYTHON.*|PERL5.*|PERLLIB|PERLIO.*|RUBYOPT|RUBYLIB|GEM_.*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|GCONV_PATH|GLIBC_TUNABLES|MALLOC_.*|OPENSSL_.*|SSL_CERT_.*|CURL_CA_BUNDLE|REQUESTS_CA_BUNDLE|HOSTALIASES|RESOLV_.*|LOCALDOMAIN|GIT_.*|SSH_ASKPASS|SSH_AUTH_SOCK|UV_.*|VIRTUAL_ENV|CONDA_.*)$/i;

/** Whether a variable is read at a program's start-up to load or run other code (see `STARTUP_VARIABLE`). */
export function isStartupVariable(name: string): boolean {
  return STARTUP_VARIABLE.test(name);
}

/** The sentence that refuses a start-up variable as a job variable, the same from the API and the worker. */
export function startupVariableMessage(name: string): string {
  return `${name} is read when a process starts and can make it run other code, so it is never a job variable; set it on the worker (--pass-env ${name}) if your flows need it`;
}

/** The names of `jobVariables.env` that are start-up variables, in order; none when `env` is not an object. */
export function startupVariablesIn(jobVariables: Record<string, unknown> | null | undefined): string[] {
  const env = jobVariables?.env;
  if (env === null || typeof env !== 'object' || Array.isArray(env)) return [];
  return Object.keys(env).filter(isStartupVariable);
}

import { type Dirent, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../cli-error.js';

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface MergedPackageJson {
  text: string;
  changed: boolean;
  addedScripts: string[];
  /** Scripts the project already had under a name `outpost init` uses: kept. */
  keptScripts: string[];
  /** What `outpost init` would have set for each kept script. */
  theirs: Record<string, string>;
  addedPackages: string[];
  ranges: Record<string, string>;
  /**
   * Whether the project is ES modules (`"type": "module"`), which the example flow needs. A project
   * with no code of its own yet (`npm init -y` writes `"type": "commonjs"`) is made one; one with
   * code is left as it has it.
   */
  esm: boolean;
  /** Whether `"type": "module"` was set here, on a project with no code of its own. */
  madeEsm: boolean;
}

const CODE = /\.(c|m)?(j|t)sx?$/;

/** Whether `dir` holds JavaScript or TypeScript of its own (node_modules and dot folders aside), other than `ignore`. */
export function hasOwnCode(dir: string, ignore: ReadonlySet<string>, depth = 4, prefix = ''): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.') || depth === 0) continue;
      if (hasOwnCode(dir, ignore, depth - 1, relative)) return true;
    } else if (CODE.test(entry.name) && !ignore.has(relative)) {
      return true;
    }
  }
  return false;
}

/**
 * The project's package.json with `outpost init`'s scripts and packages added where the project has
 * none of that name; nothing it has is replaced, except a project with no code of its own (`ownCode`
 * false) is made ES modules.
 */
export function mergePackageJson(existing: string, template: string, ownCode = true): MergedPackageJson {
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(existing) as PackageJson;
  } catch (error) {
    throw new UsageError(`cannot read package.json: ${(error as Error).message}`);
  }
  const ours = JSON.parse(template) as PackageJson;
  const result: MergedPackageJson = {
    text: existing,
    changed: false,
    addedScripts: [],
    keptScripts: [],
    theirs: {},
    addedPackages: [],
    ranges: {},
    esm: false,
    madeEsm: false,
  };
  for (const [name, script] of Object.entries(ours.scripts ?? {})) {
    if (pkg.scripts?.[name] === undefined) {
      pkg.scripts = { ...pkg.scripts, [name]: script };
      result.addedScripts.push(name);
    } else if (pkg.scripts[name] !== script) {
      result.keptScripts.push(name);
      result.theirs[name] = script;
    }
  }
  for (const field of ['dependencies', 'devDependencies'] as const) {
    for (const [name, range] of Object.entries(ours[field] ?? {})) {
      if (pkg.dependencies?.[name] !== undefined || pkg.devDependencies?.[name] !== undefined) continue;
      pkg[field] = { ...pkg[field], [name]: range };
      result.addedPackages.push(name);
      result.ranges[name] = range;
    }
  }
  if (pkg.type !== 'module' && !ownCode) {
    pkg.type = 'module';
    result.madeEsm = true;
  }
  result.esm = pkg.type === 'module';
  const indent = /^[{[]\r?\n(\s+)/.exec(existing)?.[1] ?? '  ';
  const text = `${JSON.stringify(pkg, null, indent)}\n`;
  result.changed = text !== existing;
  result.text = text;
  return result;
}

/** The install command of the project's package manager, by its lock file; npm when there is none. */
export function installCommand(dir: string): string[] {
  if (existsSync(path.join(dir, 'pnpm-lock.yaml'))) return ['pnpm', 'install'];
  if (existsSync(path.join(dir, 'yarn.lock'))) return ['yarn', 'install'];
  if (existsSync(path.join(dir, 'bun.lock')) || existsSync(path.join(dir, 'bun.lockb'))) return ['bun', 'install'];
  return ['npm', 'install'];
}

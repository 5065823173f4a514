import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dashboardDir } from '../index.js';

describe('package entry', () => {
  it('exports the absolute path of the build output next to the package', () => {
    const packageDir = fileURLToPath(new URL('..', import.meta.url));
    expect(isAbsolute(dashboardDir)).toBe(true);
    expect(dashboardDir).toBe(join(packageDir, 'dist/'));
  });
});

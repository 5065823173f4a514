import type { TestUserConfig, ViteUserConfig } from 'vitest/config';

/** A package's vitest config: the suites' shared settings under the package's own (scripts/suite-config.mjs). */
export function defineSuite(test: TestUserConfig, config?: Omit<ViteUserConfig, 'test'>): ViteUserConfig;

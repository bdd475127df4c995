import { defineConfig } from 'vitest/config';

// One root config (STYLE.md R17): unit and component tests per package, cross-package tests in test/.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env['VITEST_JSON_REPORT'] ? ['default', ['json', { outputFile: process.env['VITEST_JSON_REPORT'] }]] : ['default'],
  },
});

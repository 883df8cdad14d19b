import { defineConfig } from '@playwright/test';

// Browsers are launched by the fixtures in tests/fixtures.ts (Debian's Chromium, one profile per
// test, cookies blocked unless a test says otherwise); nothing here downloads a browser.
export default defineConfig({
  testDir: 'tests',
  // The scale-out spec builds a deployment behind nginx on the Redis Cluster that scripts/test
  // starts: it belongs to that pass (E2E_DEPLOYMENT=nginx), where every other spec runs too.
  testIgnore: process.env.E2E_DEPLOYMENT === 'nginx' ? [] : ['**/scale-out.spec.ts'],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
});

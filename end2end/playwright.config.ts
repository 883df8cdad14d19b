import { defineConfig } from '@playwright/test';

// Browsers are launched by the fixtures in tests/fixtures.ts (Debian's Chromium, one profile per
// test, cookies blocked unless a test says otherwise); nothing here downloads a browser.
export default defineConfig({
  testDir: 'tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
});

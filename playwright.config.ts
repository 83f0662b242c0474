import { defineConfig } from '@playwright/test';

/*
 * End-to-end tests of the example portal in headless Chromium (Debian's
 * package, never a downloaded browser). scripts/e2e.sh builds the app and sets
 * DMIG_E2E_PORT / DMIG_E2E_CONFIG; the backend serves the built app.
 */
const port = Number(process.env.DMIG_E2E_PORT ?? 7077);
const baseURL = `http://localhost:${port}`;

export default defineConfig({
  testDir: 'packages/app/e2e-tests',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  forbidOnly: true,
  retries: 0,
  workers: 1,
  reporter: [['list'], ['json', { outputFile: '.tools/results/e2e.json' }]],
  webServer: {
    command: `yarn workspace backend start --config ../../app-config.yaml --config ${process.env.DMIG_E2E_CONFIG}`,
    url: `${baseURL}/.backstage/health/v1/readiness`,
    reuseExistingServer: !!process.env.DMIG_E2E_REUSE,
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.DMIG_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  outputDir: '.tools/results/e2e-artifacts',
});

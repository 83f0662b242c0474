import { test, expect, Page } from '@playwright/test';
import { visit } from './visit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The migration's own page, /dataset-migrations/:id, reached the two ways
 * users reach it: from the "Migrate a dataset" template's output link, where
 * the plan is reviewed and approved; and from the dataset card after a
 * migration was cancelled at plan review.
 */

const targetsDir = process.env.DMIG_E2E_TARGETS!;

// Tall enough for the whole page (plan, report, audit trail, log) in one shot.
test.use({ viewport: { width: 1280, height: 1600 } });

/** Every `GET /migrations/:id/report` the page sends. */
function reportRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', r => {
    if (/\/api\/dataset-migration\/migrations\/[^/]+\/report$/.test(r.url())) {
      urls.push(r.url());
    }
  });
  return urls;
}

/** The id of the migration the next `POST /migrations` creates. */
function createdMigrationId(page: Page): Promise<string> {
  return page
    .waitForResponse(
      r =>
        r.request().method() === 'POST' &&
        /\/api\/dataset-migration\/migrations$/.test(r.url()),
    )
    .then(async r => (await r.json()).id as string);
}

test('a migration planned by the template is reviewed and approved on its page', async ({
  page,
}, testInfo) => {
  expect(targetsDir).toBeTruthy();
  const target = join(targetsDir, 'artist-catalog-detail-e2e');
  const reports = reportRequests(page);

  await visit(page, '/create');
  const card = page
    .locator('[data-testid="template-card"], article, .MuiCard-root')
    .filter({ hasText: 'Migrate a dataset' })
    .first();
  // A fresh backend may still be reading the template from the catalog.
  await expect(async () => {
    if (!(await card.isVisible())) await page.reload();
    await expect(card).toBeVisible({ timeout: 5_000 });
  }).toPass({ timeout: 60_000 });
  await card.getByRole('button', { name: 'Choose' }).click();

  // Step 1: the dataset, picked from the located datasets in the catalog.
  const dataset = page.getByRole('textbox', { name: 'Dataset' });
  await dataset.click();
  await dataset.fill('artist');
  await page
    .getByRole('option', { name: /artist/i })
    .first()
    .click();
  await page.getByRole('button', { name: 'Next' }).click();

  // Step 2: where to; bulk copy is the default strategy.
  await page
    .getByRole('textbox', { name: /Target location/ })
    .fill('file://targets/artist-catalog-detail-e2e');
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create' }).click();

  // The task plans the migration and links to its page.
  const review = page.getByRole('link', {
    name: /Review and approve the migration/,
  });
  await expect(review).toBeVisible({ timeout: 60_000 });
  await page.screenshot({
    path: testInfo.outputPath('detail-template-task.png'),
    fullPage: true,
  });
  await review.click();
  await expect(page).toHaveURL(/\/dataset-migrations\/[0-9a-f-]{36}$/);

  // The page: header, plan, nothing written yet.
  await expect(
    page.getByRole('heading', { name: /Migration of/ }),
  ).toContainText('artist-catalog');
  const state = page.getByTestId('migration-state').first();
  await expect(state).toHaveText('awaiting-approval');
  const plan = page.getByTestId('plan-preview');
  await expect(plan).toBeVisible();
  await expect(plan).toContainText('file://examples/artist-catalog');
  await expect(plan).toContainText('file://targets/artist-catalog-detail-e2e');
  await expect(page.getByTestId('migration-outcome')).toContainText(
    'Nothing has been written yet',
  );
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  expect(existsSync(target)).toBe(false);
  expect(reports).toEqual([]);
  await page.screenshot({
    path: testInfo.outputPath('detail-awaiting-approval.png'),
    fullPage: true,
  });

  await page.getByRole('button', { name: 'Approve' }).click();
  await expect(state).toHaveText('succeeded', { timeout: 60_000 });
  expect(existsSync(target)).toBe(true);

  // Succeeded: the outcome, every step done, the report, who approved.
  await expect(page.getByTestId('migration-outcome')).toContainText(
    'Succeeded',
  );
  await expect(page.getByTestId('step-copy')).toContainText('(100%)');
  await expect(page.getByTestId('validation-report')).toContainText(
    'Validation passed',
  );
  await expect(
    page.getByRole('button', { name: 'Download report (JSON)' }),
  ).toBeVisible();
  const audit = page.getByRole('table', { name: 'Audit trail' });
  await expect(audit.getByRole('row', { name: /Approved/ })).toContainText(
    /guest|Guest/,
  );
  await expect(audit.getByRole('row', { name: /Succeeded/ })).toBeVisible();
  await expect(
    page
      .getByTestId('event-log')
      .getByText(/Validation passed/)
      .first(),
  ).toBeVisible();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (JSON)' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(
    /^migration-[0-9a-f-]{36}-validation-report\.json$/,
  );
  await page.screenshot({
    path: testInfo.outputPath('detail-succeeded.png'),
    fullPage: true,
  });
});

test('a migration cancelled at plan review says nothing was written and offers no rollback or retry', async ({
  page,
}, testInfo) => {
  const reports = reportRequests(page);
  await visit(page, '/catalog/default/api/podcast-episodes');
  const migrate = page.getByRole('button', { name: 'Migrate' });
  await expect(async () => {
    if (!(await migrate.isVisible())) await page.reload();
    await expect(migrate).toBeEnabled({ timeout: 5_000 });
  }).toPass({ timeout: 60_000 });
  await migrate.click();

  const dialog = page.getByRole('dialog');
  await dialog
    .getByLabel('Target location')
    .fill('file://targets/podcast-episodes-cancelled-e2e');
  const created = createdMigrationId(page);
  await dialog.getByRole('button', { name: 'Plan migration' }).click();
  const id = await created;
  await expect(dialog.getByText('Review the migration plan')).toBeVisible();
  await dialog.getByRole('button', { name: /^Cancel/ }).click();
  await expect(dialog).toBeHidden();

  // From the card to the migration's page.
  await page.getByRole('link', { name: 'Details' }).first().click();
  await expect(page).toHaveURL(new RegExp(`/dataset-migrations/${id}$`));
  await expect(page.getByTestId('migration-state').first()).toHaveText(
    'cancelled',
  );
  await expect(page.getByTestId('migration-outcome')).toContainText(
    /Cancelled at plan review by .*: nothing was written to the target/,
  );
  await expect(page.getByText(/Nothing to roll back or retry/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Rollback' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Retry' })).toHaveCount(0);
  await expect(page.getByTestId('step-copy')).toHaveCount(0);
  // No report was ever stored, and the page did not ask for one.
  await expect(page.getByTestId('validation-report')).toHaveCount(0);
  expect(reports.filter(url => url.includes(id))).toEqual([]);
  const audit = page.getByRole('table', { name: 'Audit trail' });
  await expect(audit.getByRole('row', { name: /Cancelled/ })).toContainText(
    'cancelled at plan review',
  );
  expect(existsSync(join(targetsDir, 'podcast-episodes-cancelled-e2e'))).toBe(
    false,
  );
  await page.screenshot({
    path: testInfo.outputPath('detail-cancelled.png'),
    fullPage: true,
  });
});

test('an unknown migration id says so', async ({ page }) => {
  await visit(page, '/dataset-migrations/00000000-0000-0000-0000-000000000000');
  await expect(page.getByText('Migration not found')).toBeVisible();
});

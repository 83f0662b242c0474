import { test, expect, Page } from '@playwright/test';
import { visit } from './visit';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/*
 * The product's headline flow in a real browser against the real backend:
 * open a dataset, Migrate, review the plan, Approve, watch it succeed, check
 * the bytes on disk, Rollback, and check the target is empty again.
 */

const sourceDir = resolve(__dirname, '../../../examples/data/plays-daily');
const targetsDir = process.env.DMIG_E2E_TARGETS!;

function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name.startsWith('.dataset-migration')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else
        out[relative(dir, p)] = createHash('sha256')
          .update(readFileSync(p))
          .digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function openDataset(page: Page, name: string) {
  // name: the entity's metadata.name
  await visit(page, `/catalog/default/resource/${name}`);
  await expect(page.getByText('Dataset migration').first()).toBeVisible();
}

/** The dataset's migration card (the innermost card holding the latest migration). */
function migrationCard(page: Page) {
  return page
    .locator('.MuiCard-root')
    .filter({ has: page.getByTestId('latest-migration') })
    .last();
}

test('an owner migrates a dataset, then rolls it back', async ({
  page,
}, testInfo) => {
  expect(targetsDir).toBeTruthy();
  const target = join(targetsDir, 'plays-daily-e2e');

  await openDataset(page, 'plays-daily');
  await page.getByRole('button', { name: 'Migrate' }).click();
  await page
    .getByLabel('Target location')
    .fill('file://targets/plays-daily-e2e');
  await page.getByRole('button', { name: 'Plan migration' }).click();

  // The plan: 6 objects, consumers from the catalog, nothing written yet.
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('Review the migration plan')).toBeVisible();
  await expect(dialog.getByText('recommendations-service')).toBeVisible();
  expect(existsSync(target)).toBe(false);

  // Closed without a decision: the card shows the same plan next to its own
  // Approve button, so whoever approves there sees what they approve.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  const card = migrationCard(page);
  await expect(card.getByTestId('migration-state')).toHaveText(
    'awaiting-approval',
  );
  const plan = card.getByTestId('plan-preview');
  await expect(plan.getByText('recommendations-service')).toBeVisible();
  await expect(card.getByText(/0 \/ 0/)).toHaveCount(0);
  await card.screenshot({
    path: testInfo.outputPath('card-awaiting-approval.png'),
  });

  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByText('succeeded').first()).toBeVisible({
    timeout: 60_000,
  });
  expect(treeHashes(target)).toEqual(treeHashes(sourceDir));
  await expect(card.getByTestId('step-copy')).toContainText('6 / 6 objects');
  await expect(card.getByTestId('validation-report')).toContainText(
    'Validation passed',
  );

  await page.getByRole('button', { name: 'Rollback' }).click();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: /Rollback|Roll back|Confirm/ })
    .click();
  await expect(page.getByText('rolled-back').first()).toBeVisible({
    timeout: 60_000,
  });
  expect(treeHashes(target)).toEqual({});

  // Rolled back, plainly: what was undone, no success look, nothing to redo.
  await expect(card.getByTestId('rollback-summary')).toContainText(
    'Rolled back',
  );
  await expect(card.getByTestId('validation-report')).toHaveCount(0);
  await expect(card.getByTestId('step-copy')).toHaveCount(0);
  await expect(card.getByRole('button', { name: 'Rollback' })).toHaveCount(0);
  await card.screenshot({ path: testInfo.outputPath('card-rolled-back.png') });

  // The migrations page lists it; its row opens the migration's page.
  await page.getByRole('link', { name: 'Dataset migrations' }).first().click();
  await expect(
    page.getByRole('heading', { name: 'All migrations' }),
  ).toBeVisible();
  const row = page
    .getByRole('row')
    .filter({ hasText: 'file://targets/plays-daily-e2e' });
  await expect(row.getByText('rolled-back')).toBeVisible();
  await page.screenshot({
    path: testInfo.outputPath('migrations-page.png'),
    fullPage: true,
  });
  await row.getByText('file://targets/plays-daily-e2e').click();
  await expect(page).toHaveURL(/\/dataset-migrations\/[0-9a-f-]{36}$/);
});

test('a non-owner cannot migrate another team’s dataset', async ({ page }) => {
  await openDataset(page, 'user-sessions');
  await expect(page.getByRole('button', { name: 'Migrate' })).toBeDisabled();
});

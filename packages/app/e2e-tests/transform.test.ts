import { test, expect } from '@playwright/test';
import { visit } from './visit';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/*
 * A schema-transform in a real browser against the real backend: the orders
 * dataset (CSV) migrated through its mapping annotation to Parquet, with the
 * schema diff in the plan and the record-level layers in the report.
 */

const targetsDir = process.env.DMIG_E2E_TARGETS!;

// Tall enough for the whole plan (schema diff included) in one screenshot.
test.use({ viewport: { width: 1280, height: 1400 } });

function files(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name.startsWith('.dataset-migration')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('an owner transforms a CSV dataset to Parquet with its mapping', async ({
  page,
}, testInfo) => {
  expect(targetsDir).toBeTruthy();
  const target = join(targetsDir, 'orders-e2e');

  await visit(page, '/catalog/default/resource/orders');
  // A fresh backend may still be reading the catalog files.
  const migrate = page.getByRole('button', { name: 'Migrate' });
  await expect(async () => {
    if (!(await migrate.isVisible())) await page.reload();
    await expect(migrate).toBeEnabled({ timeout: 5_000 });
  }).toPass({ timeout: 60_000 });
  await migrate.click();

  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: /^Strategy/ }).click();
  await page
    .getByRole('option', {
      name: 'Transform with the dataset’s mapping (schema-transform)',
    })
    .click();
  await expect(dialog.getByText('set by the mapping')).toBeVisible();
  await dialog.getByLabel('Target location').fill('file://targets/orders-e2e');
  await dialog.screenshot({ path: testInfo.outputPath('orders-form.png') });
  await dialog.getByRole('button', { name: 'Plan migration' }).click();

  // The plan: CSV → Parquet through the annotation's mapping, column by column.
  await expect(dialog.getByText('Review the migration plan')).toBeVisible();
  const transform = dialog.getByTestId('plan-transform');
  await expect(transform.getByText('csv → parquet')).toBeVisible();
  await expect(
    transform.getByText(/the dataset’s mapping annotation/),
  ).toBeVisible();
  await expect(transform.getByText('object 2026/01.csv')).toBeVisible();
  const diff = dialog.getByTestId('plan-schema-diff');
  const row = (name: string) =>
    diff.getByRole('row').filter({ hasText: name }).first();
  await expect(row('order_id')).toContainText('rename + cast');
  await expect(row('order_id')).toContainText('BIGINT');
  await expect(row('amount_eur')).toContainText('DECIMAL(12,2)');
  await expect(row('created_at')).toContainText('TIMESTAMP WITH TIME ZONE');
  await expect(row('customer_ip')).toContainText('drop');
  await expect(row('source_system')).toContainText('default "legacy-shop"');
  await expect(diff.getByRole('row')).toHaveCount(1 + 9);
  await dialog.screenshot({ path: testInfo.outputPath('orders-plan.png') });
  expect(existsSync(target)).toBe(false);

  await dialog.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByText('succeeded').first()).toBeVisible({
    timeout: 60_000,
  });

  // One Parquet file under the CSV's key with the new extension.
  expect(files(target)).toEqual(['2026/01.parquet']);
  const parquet = readFileSync(join(target, '2026/01.parquet'));
  expect(parquet.subarray(0, 4).toString('latin1')).toBe('PAR1');
  expect(parquet.subarray(-4).toString('latin1')).toBe('PAR1');

  // 6 rows read: 1 cancelled (filtered), 1 with "12,50" (quarantined).
  await expect(page.getByTestId('layer-rows')).toHaveText(
    'Rows match: 4 in the target of 4 expected (6 read, 1 filtered out, 1 bad, 1 quarantined)',
  );
  await expect(page.getByTestId('layer-schema')).toContainText(
    'every object has the 8 target columns',
  );
  await expect(page.getByText(/^Quarantined rows:/)).toBeVisible();
  await page.getByRole('button', { name: 'How it was checked' }).click();
  await expect(page.getByTestId('validation-methods')).toContainText(
    'Sampled records',
  );
  await page.screenshot({
    path: testInfo.outputPath('orders-report.png'),
    fullPage: true,
  });
});

import { test, expect } from '@playwright/test';
import { visit } from './visit';

test('the catalog shows the example datasets with their owners', async ({
  page,
}) => {
  await visit(page, '/?filters[kind]=resource&filters[user]=all');
  const rows = page.getByRole('row');
  await expect(
    rows
      .filter({ hasText: 'Plays (daily partitions)' })
      .getByText('Data Platform'),
  ).toBeVisible();
  await expect(
    rows.filter({ hasText: 'Artist catalog' }).getByText('Data Platform'),
  ).toBeVisible();
  await expect(
    rows.filter({ hasText: 'Orders' }).getByText('Data Platform'),
  ).toBeVisible();
  await expect(
    rows.filter({ hasText: 'User sessions' }).getByText('Growth Analytics'),
  ).toBeVisible();
  await expect(
    rows.filter({ hasText: 'Ad impressions' }).getByText('Growth Analytics'),
  ).toBeVisible();
});

test('a dataset page shows its consumers and the migration card', async ({
  page,
}) => {
  await visit(page, '/catalog/default/resource/plays-daily');
  await expect(page.getByText('Dataset migration').first()).toBeVisible();
  await expect(
    page.getByText('file://examples/plays-daily').first(),
  ).toBeVisible();
  for (const consumer of [
    'recommendations-service',
    'royalty-reports',
    'churn-model',
  ]) {
    await expect(page.getByText(consumer).first()).toBeVisible();
  }
});

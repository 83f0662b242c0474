import { test, expect } from '@playwright/test';
import { visit } from './visit';

test('the home page shows the datasets the guest owns, without an error toast', async ({
  page,
}, testInfo) => {
  await visit(page, '/');

  // The guest is a member of data-platform: its datasets, Resource and API.
  const owned = page.getByRole('list', { name: 'Your datasets' });
  await expect(
    owned.getByRole('link', { name: 'Plays (daily partitions)' }),
  ).toHaveAttribute('href', '/catalog/default/resource/plays-daily');
  await expect(
    owned.getByRole('link', { name: 'Podcast episodes' }),
  ).toHaveAttribute('href', '/catalog/default/api/podcast-episodes');
  await expect(owned.getByText('Artist catalog')).toBeVisible();
  // growth-analytics' datasets are not the guest's.
  await expect(owned.getByText('User sessions')).toHaveCount(0);

  await expect(
    page.getByText('Migrations running', { exact: true }),
  ).toBeVisible();
  await expect(page.getByText('Worker fleet', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Queue depth')).toBeVisible();

  // No template widget that fetches from the internet, and no toast.
  await expect(page.getByText('Random Joke')).toHaveCount(0);
  await expect(page.getByText('Failed to fetch')).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);

  await page.screenshot({
    path: testInfo.outputPath('home.png'),
    fullPage: true,
  });
});

test('the Datasets sidebar entry lists Resource and API datasets of every team', async ({
  page,
}, testInfo) => {
  await visit(page, '/');
  await page.getByRole('link', { name: 'Datasets', exact: true }).click();
  await expect(page).toHaveURL(/\/datasets/);

  const rows = page.getByRole('row');
  await expect(
    rows
      .filter({ hasText: 'Podcast episodes' })
      .getByText('API', { exact: true }),
  ).toBeVisible();
  await expect(
    rows
      .filter({ hasText: 'Plays (daily partitions)' })
      .getByText('file://examples/plays-daily'),
  ).toBeVisible();
  await expect(
    rows.filter({ hasText: 'Ad impressions' }).getByText('Growth Analytics'),
  ).toBeVisible();

  await page.screenshot({
    path: testInfo.outputPath('datasets.png'),
    fullPage: true,
  });
});

test('the catalog shows the example datasets with their owners', async ({
  page,
}) => {
  await visit(page, '/catalog?filters[kind]=resource&filters[user]=all');
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

  // The migration card leads the page, above the relations graph.
  const card = await page.getByText('Dataset migration').first().boundingBox();
  const relations = await page
    .getByText('Relations', { exact: true })
    .first()
    .boundingBox();
  expect(card && relations && card.y < relations.y).toBe(true);
});

import { test, expect, Page } from '@playwright/test';

async function signInAsGuest(page: Page) {
  await page.goto('/');
  const enter = page.getByRole('button', { name: 'Enter' });
  await expect(enter).toBeVisible();
  await enter.click();
}

test('the catalog shows the example datasets with their owners', async ({
  page,
}) => {
  await signInAsGuest(page);
  await page.goto('/catalog?filters[kind]=resource&filters[user]=all');
  for (const name of ['plays-daily', 'artist-catalog', 'user-sessions']) {
    await expect(page.getByRole('link', { name, exact: true })).toBeVisible();
  }
  await expect(
    page.getByRole('row', { name: /plays-daily/ }).getByText('data-platform'),
  ).toBeVisible();
  await expect(
    page
      .getByRole('row', { name: /user-sessions/ })
      .getByText('growth-analytics'),
  ).toBeVisible();
});

test('a dataset page shows the consumers that depend on it', async ({
  page,
}) => {
  await signInAsGuest(page);
  await page.goto('/catalog/default/resource/plays-daily/dependencies');
  for (const consumer of [
    'recommendations-service',
    'royalty-reports',
    'churn-model',
  ]) {
    await expect(page.getByText(consumer).first()).toBeVisible();
  }
});

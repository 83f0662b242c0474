import { expect, Page } from '@playwright/test';

/**
 * Opens a portal URL and signs in as guest (the example app has no auto
 * sign-in, and every test starts in a fresh browser context).
 */
export async function visit(page: Page, url: string) {
  await page.goto(url);
  const enter = page.getByRole('button', { name: 'Enter' });
  await enter.click();
  await expect(enter).toBeHidden();
}

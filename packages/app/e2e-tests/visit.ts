import { expect, Page } from '@playwright/test';

/**
 * Opens a portal URL, signing in as guest when the sign-in page shows (the
 * example app has no auto sign-in, so every full page load asks again).
 */
export async function visit(page: Page, url: string) {
  await page.goto(url);
  const enter = page.getByRole('button', { name: 'Enter' });
  const signedIn = page.getByTestId('sidebar-root');
  await expect(enter.or(signedIn).first()).toBeVisible();
  if (await enter.isVisible()) {
    await enter.click();
  }
  await expect(signedIn).toBeVisible();
}

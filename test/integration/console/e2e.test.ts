/**
 * The web console end to end in a real browser (Debian chromium via playwright-core) against the local
 * stack, through the console's UI only: sign in as demo → create an image from a demo machine → watch
 * the bar reach 100 % and the image turn active → share it with a second account → sign in as that
 * account, see the share offered, accept it and see it in the catalog → clone it → delete the original. Every page passes axe-core with no serious or
 * critical violation (in light and dark), breaks no CSP rule, and fits a phone's width.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { api, BASE } from '../../helpers/local-stack';
import { makeAccount } from '../../helpers/fixtures';
// Expressions evaluated in the page are strings: this project's TypeScript has no DOM library.
import { launchBrowser, seriousA11yViolations, type Browser } from '../../helpers/browser';

const DEMO = { login: 'demo', password: 'demo-password' };

describe('web console in a browser', () => {
  let browser: Browser;
  let page: Page;
  const checked: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    page = browser.page;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** axe on the page now; the page name is recorded so the test shows which pages were checked. */
  async function expectAccessible(name: string) {
    const violations = await seriousA11yViolations(page);
    expect({ page: name, violations }).toEqual({ page: name, violations: [] });
    checked.push(name);
  }

  async function signIn(who: { login: string; password: string }) {
    await page.goto(`${BASE}/console/#/images`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Login').fill(who.login);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
  }

  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  async function confirmDialog(button: string) {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: button, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  it('signs in, builds an image with live progress, shares it, and the recipient sees and clones it; the owner deletes it', async () => {
    const viewer = await makeAccount('viewer');
    const name = `console-e2e-${randomBytes(3).toString('hex')}`;

    // Sign in: a wrong password is a clear message; the right one opens the catalog.
    await page.goto(`${BASE}/console/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible('sign in');
    await page.getByLabel('Login').fill('demo');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/Wrong login or password/);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
    await expectAccessible('catalog');
    expect(await page.evaluate('[sessionStorage.length, localStorage.length]')).toEqual([1, 0]);

    // Create from a stopped demo machine, then watch the job.
    await page.getByRole('link', { name: 'Create image' }).first().click();
    await page.getByRole('heading', { name: /Create an image/ }).waitFor();
    await page.getByRole('radio', { name: /web-01/ }).check();
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Version').fill('1.0.0');
    await page.getByLabel('Description').fill('made in the browser');
    await page.getByLabel('Compression').selectOption('gzip');
    await expectAccessible('create image');
    await page.getByRole('button', { name: 'Create image' }).click();

    await page.getByRole('heading', { name: `Building ${name}` }).waitFor();
    const bar = page.getByRole('progressbar', { name: 'Build progress' });
    const seen = new Set<string>();
    for (
      let i = 0;
      i < 600 &&
      (await page
        .getByTestId('job-image-state')
        .textContent()
        .catch(() => null)) !== 'active';
      i++
    ) {
      seen.add((await bar.getAttribute('aria-valuenow')) ?? '');
      await page.waitForTimeout(50);
    }
    seen.add((await bar.getAttribute('aria-valuenow')) ?? '');
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(await page.getByTestId('job-status').textContent()).toBe('SUCCESS');
    expect(await page.getByTestId('job-image-state').textContent()).toBe('active');
    expect([...seen].map(Number).every((v) => v >= 0 && v <= 100)).toBe(true);
    await expectAccessible('job progress');

    // The image's page: share with the viewer's account id.
    await page.getByTestId('job-image').click();
    await page.getByRole('heading', { name: new RegExp(name) }).waitFor();
    const imageId = new URL(page.url()).hash.split('/')[2];
    expect(imageId).toMatch(/^[0-9a-f-]{36}$/);
    await page.getByLabel('Share with account id').fill(viewer.id);
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await confirmDialog('Share');
    await page.getByText(`Shared with ${viewer.id}.`).waitFor();
    await expect(page.getByRole('list', { name: 'Accounts the image is shared with' }).textContent()).resolves.toContain(viewer.id);
    await expectAccessible('image detail (owner)');

    // A refused action shows the API's own error text.
    await page.getByLabel('Share with account id').fill('not-an-account-id');
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await confirmDialog('Share');
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^InvalidArgument|^ValidationFailed|^Invalid/);

    await page.getByRole('link', { name: 'Machines' }).click();
    await page.getByRole('heading', { name: 'Machines' }).waitFor();
    await page.getByRole('row', { name: /web-01/ }).waitFor();
    await expectAccessible('machines');

    // Dark theme and a phone's width: still accessible, nothing wider than the screen.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Images' }).click();
    await page.getByRole('link', { name }).waitFor();
    await expectAccessible('catalog (dark, phone)');
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 860 });

    // The viewer signs in, sees the shared image and clones it.
    await signOut();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await signIn(viewer);
    // A share waits for the recipient's consent: offered apart, and not in the catalog until accepted.
    const offered = page.getByRole('region', { name: 'Shared with you, waiting for your answer' });
    await offered.getByRole('link', { name: `${name} 1.0.0` }).waitFor();
    expect(await page.getByRole('table').getByRole('link', { name }).count()).toBe(0);
    await expectAccessible('catalog with a pending share');
    await offered.getByRole('button', { name: `Accept ${name} 1.0.0` }).click();
    await page.getByText(`Accepted ${name} 1.0.0.`).waitFor();
    await page.getByRole('table').getByRole('link', { name }).click();
    await page.getByRole('heading', { name: new RegExp(name) }).waitFor();
    await expect(page.getByText('shared', { exact: true }).count()).resolves.toBeGreaterThan(0);
    await expectAccessible('image detail (shared with me)');
    await page.getByRole('button', { name: 'Clone' }).click();
    await confirmDialog('Clone');
    await page.waitForURL((u) => u.hash.startsWith('#/images/') && !u.hash.includes(imageId));
    const cloneId = new URL(page.url()).hash.split('/')[2];
    await page.getByRole('heading', { name: new RegExp(name) }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).waitFor(); // the clone is the viewer's own

    // The owner deletes the original; the clone stays.
    await signOut();
    await signIn(DEMO);
    await page.goto(`${BASE}/console/#/images/${imageId}`);
    await page.getByRole('heading', { name: new RegExp(name) }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await confirmDialog('Delete');
    await page.getByRole('heading', { name: 'Images' }).waitFor();

    expect((await api('GET', `/demo/images/${imageId}`, undefined, { as: DEMO })).status).toBe(404);
    const clone = await api('GET', `/${viewer.login}/images/${cloneId}`);
    expect(clone.status).toBe(200);
    expect(clone.body).toMatchObject({ name, owner: viewer.id, state: 'active' });

    await signOut();
    expect(browser.problems).toEqual([]);
    expect(checked).toHaveLength(9);
  }, 120_000);
});

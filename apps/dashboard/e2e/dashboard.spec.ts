// The dashboard as a household uses it, in a real Chromium, against a real gateway with a
// simulated box (e2e/gateway.ts): every order goes through the API and the box; the page
// follows by server-sent events. Screenshots of each page go to screenshots/ (not committed).
import { expect, test, type Page, type APIRequestContext } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { startBox } from './gateway';

const url = () => process.env.ESSENSYS_E2E_URL as string;
const token = () => process.env.ESSENSYS_E2E_TOKEN as string;
let boxPid = () => Number(process.env.ESSENSYS_E2E_BP_SIM_PID);

/** What bp-sim printed so far: its house's changes. */
const boxLog = () => readFileSync(process.env.ESSENSYS_E2E_BP_SIM_LOG as string, 'utf8');

/** Waits until bp-sim printed a line matching `line`. */
async function boxPrints(line: RegExp): Promise<void> {
  await expect.poll(() => line.test(boxLog()), { message: `bp-sim prints ${line}`, timeout: 15_000 }).toBe(true);
}

/** Opens the dashboard already logged in (the login form itself is tested once). */
async function open(page: Page, hash = '#/'): Promise<void> {
  await page.addInitScript((t) => sessionStorage.setItem('essensys.token', t), token());
  await page.goto(`${url()}/${hash}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

async function api(request: APIRequestContext, path: string, body: unknown) {
  const reply = await request.post(`${url()}${path}`, {
    headers: { Authorization: `Bearer ${token()}` },
    data: body,
  });
  expect(reply.ok(), await reply.text()).toBe(true);
}

const nav = (page: Page) => page.getByRole('navigation', { name: 'Navigation principale' });

test.describe.configure({ mode: 'serial' });

test.afterAll(() => {
  // A replaced box is this worker's child: stop it (the set-up's teardown stops the first).
  try {
    process.kill(boxPid(), 'SIGTERM');
  } catch {
    // already gone
  }
});

test('the admin token is asked for, a wrong one refused, the right one opens the house', async ({ page }) => {
  await page.goto(`${url()}/`);
  const field = page.getByLabel("Jeton d'administration");
  await field.fill('not-the-token');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await expect(page.getByRole('alert')).toContainText('Jeton refusé');
  await field.fill(token());
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Tableau de bord' })).toBeVisible();
  await expect(page.getByText('En ligne', { exact: false }).first()).toBeVisible();
  await shot(page, 'tableau-de-bord');
});

test('every page is reachable from the navigation by its French name', async ({ page }) => {
  await open(page);
  const pages: [string, string][] = [
    ['Sécurité', 'securite'],
    ['Chauffage', 'chauffage'],
    ['Éclairage', 'eclairage'],
    ['Volets', 'volets'],
    ['Cumulus', 'cumulus'],
    ['Arrosage', 'arrosage'],
    ['Notifications', 'notifications'],
    ['Réglages', 'reglages'],
    ['Caméras UniFi Protect', 'cameras'],
    ['Tableau de bord', 'tableau-de-bord-2'],
  ];
  for (const [name, file] of pages) {
    await nav(page).getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
    await shot(page, file);
  }
  await nav(page).getByRole('link', { name: 'Caméras UniFi Protect' }).click();
  await expect(page.getByText("UniFi Protect n'est pas configuré")).toBeVisible();
  await nav(page).getByRole('link', { name: 'Réglages', exact: true }).click();
  await expect(page.getByText('memory')).toBeVisible();
  await expect(page.locator('body')).not.toContainText(token());
});

test('the bedroom-3 lamp: en attente while queued, on in the house and on the page after the ack', async ({ page }) => {
  await open(page, '#/eclairage');
  const lamp = page.getByRole('switch', { name: /^Petite chambre 3(?! \()/ });
  await expect(lamp).toHaveCount(1);
  await expect(lamp).not.toHaveAttribute('aria-checked', 'true');
  // Hold the box still so that the order waits: the page must say so.
  process.kill(boxPid(), 'SIGSTOP');
  try {
    await lamp.click();
    await expect(page.getByRole('status')).toContainText('Ordre envoyé');
    await expect(lamp).toHaveAttribute('aria-busy', 'true');
    await expect(page.locator('li, article, div').filter({ has: lamp }).getByText('en attente').first()).toBeVisible();
    await expect(lamp).not.toHaveAttribute('aria-checked', 'true');
    await shot(page, 'eclairage-en-attente');
  } finally {
    process.kill(boxPid(), 'SIGCONT');
  }
  await boxPrints(/light petite_chambre_3 \(Petite chambre 3\): off -> on/);
  await expect(lamp).toHaveAttribute('aria-checked', 'true');
  await expect(lamp).not.toHaveAttribute('aria-busy', 'true');
  await shot(page, 'eclairage');
});

test('a heating zone changes in the box and the page shows the mode it reports', async ({ page }) => {
  await open(page, '#/chauffage');
  const zone = page.getByLabel('Chauffage zone jour');
  await zone.selectOption('Eco');
  await expect(page.getByRole('status')).toContainText('Ordre envoyé');
  await boxPrints(/cell 349 \([^)]*\): \d+ -> 18/);
  await expect(zone).toHaveAccessibleDescription(/État actuel : Eco$/);
  await expect(zone).toHaveValue('Eco');
  await expect(zone).not.toHaveAttribute('aria-busy', 'true');
  await shot(page, 'chauffage');
});

test('arming is refused with its reason while the keypad forbids it, then arms the box', async ({ page }) => {
  await open(page, '#/securite');
  const arm = page.getByRole('button', { name: "Armer l'alarme", exact: true });
  // bp-sim's keypad starts with remote access off (cell 407 = 0): the gateway refuses the order.
  await arm.click();
  await expect(page.getByRole('alert')).toContainText('does not allow remote alarm orders');
  await expect(page.locator('dt:has-text("Accès à distance autorisé au clavier") + dd')).toHaveText('non');
  await shot(page, 'securite-refus');
  // The household allows remote access on the keypad: the box restarts with cell 407 = 1.
  // (Cells 407-415 are the keypad's own; no order of the gateway may write them.)
  const old = boxPid();
  process.kill(old, 'SIGTERM');
  await expect.poll(() => { try { process.kill(old, 0); return true; } catch { return false; } }).toBe(false);
  const box = startBox(new URL(url()).host, ['--set', '407=1']);
  boxPid = () => box.pid as number;
  process.env.ESSENSYS_E2E_BP_SIM_PID = String(box.pid);
  await boxPrints(/cell 407 set to 1/);
  const remote = page.locator('dt:has-text("Accès à distance autorisé au clavier") + dd');
  await expect(remote).toHaveText('oui');
  await arm.click();
  await expect(page.getByRole('status')).toContainText('Ordre envoyé');
  await boxPrints(/alarm armed by server order/);
  await expect(page.getByText(/^Armée/).first()).toBeVisible();
  await shot(page, 'securite');
});

test('an order given elsewhere shows up live, without a reload', async ({ page, request }) => {
  await open(page, '#/eclairage');
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const lamp = page.getByRole('switch', { name: /^Salon lampe 1/ });
  await expect(lamp).not.toHaveAttribute('aria-checked', 'true');
  await api(request, '/api/v1/lights/salon_1', { state: 'on' });
  await boxPrints(/light salon_1 \(Salon lampe 1\): off -> on/);
  await expect(lamp).toHaveAttribute('aria-checked', 'true');
  await nav(page).getByRole('link', { name: 'Notifications', exact: true }).click();
  await expect(page.getByText('Salon lampe 1').first()).toBeVisible();
  await expect(page.getByText('Ordre acquitté par la box').first()).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  await shot(page, 'notifications');
});

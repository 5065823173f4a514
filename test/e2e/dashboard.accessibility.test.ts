import { unwrap } from '@outpost/sdk/client';
import type { FlowRun, JsonObject } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, screenshot, useDashboardStack } from '../support/dashboard.js';

const stack = useDashboardStack();
let completed: FlowRun;

type Theme = 'light' | 'dark';
const VIEWPORTS = {
  desktop: { width: 1360, height: 860 },
  phone: { width: 375, height: 780 },
} as const;
type Width = keyof typeof VIEWPORTS;

/** The main pages, each with what shows once its data has arrived. */
const PAGES: { name: string; path: () => string; ready: string }[] = [
  { name: 'overview', path: () => '/', ready: '[data-testid="kpi-runs"]' },
  { name: 'runs', path: () => '/runs', ready: '[data-testid="run-row"]' },
  { name: 'run', path: () => `/runs/${completed.id}`, ready: '[data-testid="artifact"][data-key="report"] table' },
  { name: 'deployments', path: () => '/deployments', ready: '[data-testid="deployment-row"]' },
  { name: 'work-pools', path: () => '/work-pools', ready: '[data-testid="worker-row"]' },
  { name: 'assets', path: () => '/assets', ready: '[data-testid="asset-filters"]' },
  { name: 'events', path: () => '/events', ready: '[data-testid="event-row"]' },
  { name: 'automations', path: () => '/automations', ready: '[data-testid="automations-page"]' },
];

interface BrowserGlobals {
  document: {
    documentElement: { scrollWidth: number; dataset: Record<string, string | undefined> };
    activeElement: FocusedElement | null;
    querySelector(selector: string): { scrollWidth: number; clientWidth: number } | null;
  };
  innerWidth: number;
  localStorage: { getItem(key: string): string | null };
  getComputedStyle(el: unknown): {
    outlineStyle: string;
    outlineWidth: string;
    boxShadow: string;
    visibility: string;
    animationName: string;
  };
}

interface FocusedElement {
  id: string;
  tagName: string;
  getAttribute(name: string): string | null;
  closest(selector: string): unknown;
}

/** A fresh context signed in as the owner, with the system theme and size given. */
async function openContext(theme: Theme, width: Width): Promise<{ context: BrowserContext; page: Page }> {
  // axe-core is injected as an inline script, which the dashboard's policy refuses; only this suite bypasses it.
  const context = await stack.browser.newContext({ viewport: VIEWPORTS[width], colorScheme: theme, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(await stack.signInUrl());
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
  return { context, page };
}

async function visit(page: Page, path: string, ready: string): Promise<void> {
  await page.goto(`${stack.server.url}/#${path}`);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
}

/** How far the page (or its scrolling content area) is wider than the window. */
async function horizontalOverflow(page: Page): Promise<{ page: number; content: number }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as BrowserGlobals;
    const content = g.document.querySelector('.content');
    return {
      page: g.document.documentElement.scrollWidth - g.innerWidth,
      content: content ? content.scrollWidth - content.clientWidth : 0,
    };
  });
}

async function focused(
  page: Page,
): Promise<{ testId: string | null; id: string; tag: string; inNav: boolean; inDialog: boolean; visible: boolean }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as BrowserGlobals;
    const el = g.document.activeElement;
    if (!el) return { testId: null, id: '', tag: '', inNav: false, inDialog: false, visible: false };
    const style = g.getComputedStyle(el);
    const outlined = style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0;
    return {
      testId: el.getAttribute('data-testid'),
      id: el.id,
      tag: el.tagName.toLowerCase(),
      inNav: el.closest('nav#main-nav') !== null,
      inDialog: el.closest('dialog[open]') !== null,
      visible: (outlined || style.boxShadow !== 'none') && style.visibility !== 'hidden',
    };
  });
}

beforeAll(async () => {
  // A finished run with logs, artifacts and a child run for the run page, and a failed one for the lists.
  const create = async (flowName: string, parameters: JsonObject) => {
    const id = stack.deployments.get(flowName) ?? '';
    return unwrap(await stack.owner.call('deploymentsCreateRun', { params: { id }, body: { parameters } })).flowRun;
  };
  const greet = await create('greet', { name: 'Ada', times: 2 });
  const flaky = await create('flaky', {});
  const deadline = Date.now() + 60_000;
  for (const run of [greet, flaky]) {
    for (;;) {
      const { state } = unwrap(await stack.owner.call('flowRunsGet', { params: { id: run.id } }));
      if (state.type === 'COMPLETED' || state.type === 'FAILED') break;
      if (Date.now() > deadline) throw new Error(`run ${run.name} did not finish within a minute (${state.type})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  completed = greet;
});

describe('dashboard accessibility', () => {
  for (const theme of ['light', 'dark'] as const) {
    for (const width of ['desktop', 'phone'] as const) {
      it(`has no WCAG 2 A or AA violations on the main pages in the ${theme} theme at ${width} width${width === 'phone' ? ', and no page scrolls sideways' : ''}`, async () => {
        const { context, page } = await openContext(theme, width);
        try {
          expect(
            await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.documentElement.dataset.theme),
          ).toBe(theme);
          const found: Record<string, string[]> = {};
          const overflow: Record<string, { page: number; content: number }> = {};
          for (const p of PAGES) {
            await visit(page, p.path(), p.ready);
            const violations = await axeViolations(page);
            if (violations.length > 0) found[p.name] = violations;
            if (width === 'phone') {
              const o = await horizontalOverflow(page);
              if (o.page > 0 || o.content > 0) overflow[p.name] = o;
            }
            await screenshot(page, `a11y-${p.name}-${theme}-${width}`);
          }
          expect(found).toEqual({});
          expect(overflow).toEqual({});
        } finally {
          await context.close();
        }
      });
    }
  }

  it('has no WCAG 2 A or AA violations on the sign-in page in either theme at either width', async () => {
    for (const theme of ['light', 'dark'] as const) {
      for (const width of ['desktop', 'phone'] as const) {
        const context = await stack.browser.newContext({ viewport: VIEWPORTS[width], colorScheme: theme, bypassCSP: true });
        try {
          const page = await context.newPage();
          await page.goto(`${stack.server.url}/#/sign-in`);
          await page.getByTestId('sign-in-form').waitFor();
          expect(await axeViolations(page), `${theme} ${width}`).toEqual([]);
          expect(await horizontalOverflow(page)).toEqual({ page: 0, content: 0 });
          await screenshot(page, `a11y-sign-in-${theme}-${width}`);
        } finally {
          await context.close();
        }
      }
    }
  });

  it('stills the pulsing live dot for someone whose system asks for reduced motion, and pulses it otherwise', async () => {
    const { context, page } = await openContext('light', 'desktop');
    try {
      await visit(page, '/runs', '[data-testid="run-row"]');
      await page.locator('[data-testid="live-status"][data-status="live"]').waitFor();
      const dotAnimation = () =>
        page
          .getByTestId('live-status')
          .locator('.live-dot')
          .evaluate((el) => (globalThis as unknown as BrowserGlobals).getComputedStyle(el).animationName);
      await page.emulateMedia({ reducedMotion: 'no-preference' });
      expect(await dotAnimation()).toBe('pulse');
      await page.emulateMedia({ reducedMotion: 'reduce' });
      expect(await dotAnimation()).toBe('none');
    } finally {
      await context.close();
    }
  });

  it('reaches the content through the skip link, the navigation by Tab and arrow keys, and shows where focus is', async () => {
    const { context, page } = await openContext('light', 'desktop');
    try {
      await visit(page, '/work-pools', '[data-testid="worker-row"]');
      await page.keyboard.press('Tab');
      expect(await focused(page)).toMatchObject({ testId: 'skip-link', visible: true });
      await page.keyboard.press('Enter');
      expect((await focused(page)).id).toBe('main-content');
      // From the content, Tab goes on to its first control.
      await page.keyboard.press('Tab');
      expect(await focused(page)).toMatchObject({ testId: 'pools-new', visible: true });

      // From the top: the header's controls, then the navigation, every stop with a visible focus.
      await page.reload();
      await page.locator('[data-testid="worker-row"]').first().waitFor();
      const stops: Awaited<ReturnType<typeof focused>>[] = [];
      // Every stop until focus leaves the page for the browser's own controls.
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        const stop = await focused(page);
        if (stop.tag === 'body') break;
        stops.push(stop);
      }
      expect(stops.filter((s) => !s.visible)).toEqual([]);
      const firstNav = stops.findIndex((s) => s.inNav);
      expect(firstNav).toBeGreaterThan(0);
      expect(stops.slice(0, firstNav).map((s) => s.testId)).toEqual(['skip-link', 'theme-switch', 'sign-out']);
      expect(stops.some((s) => s.testId === 'pools-new')).toBe(true);

      await page.getByTestId('nav-overview').focus();
      await page.keyboard.press('ArrowDown');
      expect((await focused(page)).testId).toBe('nav-runs');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('ArrowUp');
      expect((await focused(page)).testId).toBe(null);
      expect((await focused(page)).inNav).toBe(true);
      await page.keyboard.press('End');
      expect((await focused(page)).testId).toBe('nav-settings');
      await page.keyboard.press('Home');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/runs$/);
    } finally {
      await context.close();
    }
  });

  it('keeps focus inside an open dialog, closes it with Escape and returns focus to the button that opened it', async () => {
    const { context, page } = await openContext('dark', 'desktop');
    try {
      await visit(page, '/work-pools', '[data-testid="worker-row"]');
      await page.getByTestId('pools-new').focus();
      await page.keyboard.press('Enter');
      await page.getByTestId('pool-dialog').waitFor();
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        expect((await focused(page)).inDialog).toBe(true);
      }
      await screenshot(page, 'a11y-dialog-dark');
      await page.keyboard.press('Escape');
      await page.getByTestId('pool-dialog').waitFor({ state: 'detached' });
      expect((await focused(page)).testId).toBe('pools-new');
    } finally {
      await context.close();
    }
  });

  it('opens the navigation from the menu button on a phone and closes it with Escape, back on the button', async () => {
    const { context, page } = await openContext('light', 'phone');
    try {
      await visit(page, '/', '[data-testid="kpi-runs"]');
      expect(await page.getByTestId('nav-runs').isVisible()).toBe(false);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      expect((await focused(page)).testId).toBe('menu-button');
      await page.keyboard.press('Enter');
      await page.getByTestId('nav-runs').waitFor();
      expect(await page.getByTestId('menu-button').getAttribute('aria-expanded')).toBe('true');
      // The open menu has focus; Tab and the arrow keys walk its links.
      expect((await focused(page)).inNav).toBe(true);
      await page.keyboard.press('Tab');
      expect((await focused(page)).testId).toBe('nav-overview');
      await page.keyboard.press('ArrowDown');
      expect(await focused(page)).toMatchObject({ testId: 'nav-runs', visible: true });
      await screenshot(page, 'a11y-phone-menu-light');
      await page.keyboard.press('Escape');
      await page.getByTestId('nav-runs').waitFor({ state: 'hidden' });
      expect((await focused(page)).testId).toBe('menu-button');
      // A press outside the open menu closes it.
      await page.getByTestId('menu-button').click();
      await page.getByTestId('nav-runs').waitFor();
      await page.mouse.click(360, 400);
      await page.getByTestId('nav-runs').waitFor({ state: 'hidden' });
      // Following a link closes the menu.
      await page.getByTestId('menu-button').click();
      await page.getByTestId('nav-deployments').click();
      await page.waitForURL(/#\/deployments$/);
      await page.getByTestId('nav-runs').waitFor({ state: 'hidden' });

      // A dialog fits the phone's screen.
      await page.getByTestId('menu-button').click();
      await page.getByTestId('nav-work-pools').click();
      await page.getByTestId('pools-new').click();
      const box = await page.getByTestId('pool-dialog').boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= VIEWPORTS.phone.width).toBe(true);
      expect(await horizontalOverflow(page)).toEqual({ page: 0, content: 0 });
      await screenshot(page, 'a11y-phone-dialog-light');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('remembers the chosen theme and applies it before the app runs, with no flash of the other theme', async () => {
    const { context, page } = await openContext('light', 'desktop');
    try {
      const theme = () => page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.documentElement.dataset.theme);
      expect(await theme()).toBe('light');
      await page.getByTestId('theme-switch').selectOption('dark');
      expect(await theme()).toBe('dark');
      expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).localStorage.getItem('outpost-theme'))).toBe(
        'dark',
      );
      // With the app's own scripts held back, the page is already dark: the theme is set before anything paints.
      await page.route(/\/assets\/.*\.js$/, (route) => route.abort());
      await page.reload({ waitUntil: 'domcontentloaded' });
      expect(await theme()).toBe('dark');
      await page.unroute(/\/assets\/.*\.js$/);
      await page.reload();
      await page.getByTestId('theme-switch').waitFor();
      expect(await page.getByTestId('theme-switch').inputValue()).toBe('dark');
      await page.getByTestId('theme-switch').selectOption('system');
      expect(await theme()).toBe('light');
      await page.emulateMedia({ colorScheme: 'dark' });
      await expect.poll(theme).toBe('dark');
    } finally {
      await context.close();
    }
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { cpuSecondsOf, procStatFields } from './proc.js';
import { pause, percentile } from './row.js';

export const VIEWPORT = { width: 1360, height: 860 };
export type Cookie = { name: string; value: string; url: string };

/** Cookies of a browser session opened with an API key, as Playwright takes them. */
export async function sessionCookies(url: string, apiKey: string): Promise<Cookie[]> {
  const res = await fetch(`${url}/api/v1/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.getSetCookie().map((line) => {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), url };
  });
}

/**
 * Milliseconds from navigation to `selector` visible, in a fresh context (nothing cached); `after`
 * reads whatever else the loaded page can tell before the context closes.
 */
export async function firstLoad<T = undefined>(
  browser: Browser,
  url: string,
  selector: string,
  cookies: Cookie[] = [],
  after?: (page: Page) => Promise<T>,
): Promise<{ ms: number; extra: T | undefined }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addCookies(cookies);
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(url);
    await page.locator(selector).first().waitFor({ timeout: 60_000 });
    const ms = performance.now() - started;
    return { ms, extra: after ? await after(page) : undefined };
  } finally {
    await context.close();
  }
}

/** p50 of `samples` first loads of `url` to `selector`, after one unmeasured load. */
export async function medianLoad(
  browser: Browser,
  url: string,
  selector: string,
  cookies: Cookie[] = [],
  samples = 5,
): Promise<number> {
  await firstLoad(browser, url, selector, cookies);
  const loads: number[] = [];
  for (let i = 0; i < samples; i++) loads.push((await firstLoad(browser, url, selector, cookies)).ms);
  return percentile(loads, 50);
}

/**
 * Intervals between animation frames (ms) while `act` runs on the page: a fluid page draws one
 * every ~16.7 ms; a long interval is a frame the page could not draw in time.
 */
export async function frameIntervals(page: Page, act: () => Promise<void>): Promise<number[]> {
  // A script as text: functions passed to evaluate are compiled by tsx, which adds helpers the page lacks.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__framesStop = false;
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (!window.__framesStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  await act();
  return page.evaluate<number[]>(`(() => {
    window.__framesStop = true;
    return window.__frames.slice(1);
  })()`);
}

/** CPU seconds so far of this process's descendants whose command line names Chromium (Linux `/proc`). */
function chromiumCpuSeconds(): number {
  const children = new Map<string, string[]>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const ppid = procStatFields(pid)?.[1];
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let seconds = 0;
  const pending = [...(children.get(String(process.pid)) ?? [])];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    pending.push(...(children.get(pid) ?? []));
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // the process has exited
    }
    const fields = command.includes('chrom') ? procStatFields(pid) : null;
    if (fields) seconds += cpuSecondsOf(fields);
  }
  return seconds;
}

/**
 * The browser's CPU, as a percentage of one core, while `url` sits open and untouched for `seconds`
 * once `selector` shows (after two settling seconds), in a fresh context that asks for `reducedMotion`.
 */
export async function idleCpuPercent(
  browser: Browser,
  url: string,
  selector: string,
  cookies: Cookie[],
  reducedMotion: 'reduce' | 'no-preference',
  seconds = 15,
): Promise<number> {
  const context = await browser.newContext({ viewport: VIEWPORT, reducedMotion });
  try {
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(url);
    await page.locator(selector).first().waitFor({ timeout: 60_000 });
    await pause(2_000);
    const before = chromiumCpuSeconds();
    await pause(seconds * 1_000);
    return ((chromiumCpuSeconds() - before) / seconds) * 100;
  } finally {
    await context.close();
  }
}

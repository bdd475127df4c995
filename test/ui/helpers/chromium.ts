/**
 * Headless Chromium (Debian's `chromium` package) driven over the Chrome DevTools Protocol, with undici's
 * WebSocket and nothing else: no puppeteer, no browser download. One page per browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';

export const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

export interface Page {
  /** Evaluates an expression in the page; resolves with its (JSON) value. */
  evaluate<T>(expression: string): Promise<T>;
  navigate(url: string): Promise<void>;
  /** A PNG of the viewport, or of its top `height` pixels. */
  screenshot(height?: number): Promise<Buffer>;
  /** Console messages and uncaught exceptions of the page, for failure reports. */
  readonly console: string[];
  close(): Promise<void>;
}

export async function launchChromium(width = 1280, height = 860): Promise<Page> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (npm test does it: scripts/test-prereqs.sh)`);
  const profile = await mkdtemp(join(tmpdir(), 'ghb-chromium-'));
  const child = spawn(CHROMIUM, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--disable-background-networking', '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding', '--remote-debugging-port=0', `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const browserWs = await devtoolsUrl(child);
    const port = new URL(browserWs).port;
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.type === 'page');
    if (target === undefined) throw new Error('chromium has no page target');
    return await connectPage(target.webSocketDebuggerUrl, child, profile, width, height);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

async function devtoolsUrl(child: ChildProcess): Promise<string> {
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start its DevTools endpoint within 60 s:\n${stderr}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with ${code}:\n${stderr}`));
    });
  });
}

async function connectPage(url: string, child: ChildProcess, profile: string, width: number, height: number): Promise<Page> {
  const ws = new WebSocket(url);
  await once(ws as unknown as NodeJS.EventEmitter, 'open');
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const waiters = new Map<string, (params: unknown) => void>();
  const consoleLines: string[] = [];
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
      return;
    }
    if (msg.method === 'Runtime.consoleAPICalled') {
      const params = msg.params as { type: string; args: { value?: unknown; description?: string }[] };
      consoleLines.push(`${params.type}: ${params.args.map((a) => String(a.value ?? a.description)).join(' ')}`);
    } else if (msg.method === 'Runtime.exceptionThrown') {
      consoleLines.push(`exception: ${JSON.stringify(msg.params).slice(0, 500)}`);
    }
    const waiter = msg.method === undefined ? undefined : waiters.get(msg.method);
    if (waiter !== undefined && msg.method !== undefined) {
      waiters.delete(msg.method);
      waiter(msg.params);
    }
  });
  const send = <T>(method: string, params: object = {}): Promise<T> => new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Page.enable');
  await send('Runtime.enable');
  await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  return {
    console: consoleLines,
    async evaluate<T>(expression: string): Promise<T> {
      const r = await send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails !== undefined) throw new Error(`page: ${r.exceptionDetails.text}`);
      return r.result.value as T;
    },
    async navigate(target: string): Promise<void> {
      const loaded = new Promise((resolve) => waiters.set('Page.loadEventFired', resolve));
      await send('Page.navigate', { url: target });
      await loaded;
    },
    async screenshot(clipHeight?: number): Promise<Buffer> {
      const clip = clipHeight === undefined ? {} : { clip: { x: 0, y: 0, width, height: clipHeight, scale: 1 } };
      const r = await send<{ data: string }>('Page.captureScreenshot', { format: 'png', ...clip });
      return Buffer.from(r.data, 'base64');
    },
    async close(): Promise<void> {
      ws.close();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      clearTimeout(timer);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

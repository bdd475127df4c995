/**
 * Issue 15, "done when": `npm start -- --guests 200` gives a 200-guest fleet that `guestctl instances` and
 * the status page both show whole and healthy.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startDemoFleet, type DemoFleet } from '../helpers/demo-fleet.js';
import { waitFor } from '../helpers/wait.js';
import { launchChromium, type Page } from './helpers/chromium.js';

const GUESTS = 200;
let fleet: DemoFleet;
let page: Page | undefined;

async function guestctlStates(): Promise<string[]> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'packages/guestctl/dist/bin.js'), '--agent', fleet.ready.agentUrl, 'instances', '-f', 'value', '-c', 'state'], {
    env: { ...process.env, GUESTCTL_TOKEN_FILE: fleet.ready.tokenFile }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  expect(code).toBe(0);
  return out.split('\n').filter((l) => l !== '');
}

describe(`a ${GUESTS}-guest demo fleet (issue 15)`, () => {
  beforeAll(async () => {
    fleet = await startDemoFleet({ guests: GUESTS, faultAfterMs: 3_600_000 });
  }, 120_000);
  afterAll(async () => {
    await page?.close();
    expect(await fleet?.stop()).toBe(0);
  }, 60_000);

  it('guestctl instances lists every guest, healthy', async () => {
    let states: string[] = [];
    await waitFor(async () => {
      states = await guestctlStates();
      return states.length === GUESTS && states.every((s) => s === 'healthy');
    }, 60_000, `${GUESTS} healthy guests`, () => `${states.length} rows: ${[...new Set(states)].join(', ')}\n${fleet.output().slice(-2000)}`, 500);
  }, 90_000);

  it('the status page shows them all', async () => {
    page = await launchChromium();
    await page.navigate(`${fleet.ready.agentUrl}/ui/#token=${fleet.ready.token}`);
    await waitFor(async () => (await page?.evaluate<string>("document.getElementById('count').textContent")) === `${GUESTS} of ${GUESTS}`,
      30_000, 'the whole fleet on the page', () => page?.console.join('\n') ?? '', 100);
    expect(await page.evaluate<string>("document.querySelector('#state-counts .s-healthy')?.textContent")).toBe(`healthy ${GUESTS}`);
  }, 60_000);
});

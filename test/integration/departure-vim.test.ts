/**
 * Issue 14 item 3, the whole chain: the VIM notifies pause through guest-agent and guest-server (real
 * processes) to a real guest-client (simulation mode, its own process, with an event script). The guest is
 * frozen with SIGSTOP, as QEMU's `stop` freezes a VM with its socket connected, then resumed; the VIM's
 * `unpause` notify, sent right after, must be forwarded (not answered timeout "0") and run the guest's
 * event script. The VIM never sees the service disabled.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { VimRecord } from '../../packages/guest-agent/test/helpers/fake-vim.js';
import { startProvisionedChain, vimCall } from './helpers/processes.js';

const GUEST_CLIENT_BIN = fileURLToPath(new URL('../../packages/guest-client/dist/bin.js', import.meta.url));
const HOST_UUID = '22222222-2222-2222-2222-222222222222';
const UUID = '5b8d1f4a-9e3c-4d72-8f6b-1c2d3e4f5a60';
const HOSTNAME = 'compute-0';

type EventData = { services?: { state?: string; status?: string }[]; action?: string; 'guest-response'?: string };
const data = (r: VimRecord): EventData => ((r.json as { 'event-data'?: EventData } | undefined)?.['event-data'] ?? {});
const isEvent = (type: string) => (r: VimRecord): boolean => r.method === 'PATCH' && r.path === `/nfvi-plugins/v1/instances/${UUID}`
  && (r.json as { 'event-type'?: string } | undefined)?.['event-type'] === type;

async function until(predicate: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pause and unpause from the VIM to a frozen guest', () => {
  it('keeps the service enabled through the pause and delivers the unpause notify to the guest', async () => {
    const { dir, channelDir, vim, ports, report } = await startProvisionedChain('gd-', { hostUuid: HOST_UUID, uuid: UUID, hostname: HOSTNAME });

    // The guest: a real guest-client process whose event script records every notification it runs.
    const notified = join(dir, 'notified.txt');
    const script = join(dir, 'event.sh');
    await writeFile(script, `#!/bin/sh\necho "$1 $2" >> '${notified}'\nexit 0\n`);
    await chmod(script, 0o755);
    const conf = join(dir, 'guest_heartbeat.conf');
    await writeFile(conf, `HB_INTERVAL=400\nSUSPEND_NOTICE=8\nRESUME_NOTICE=8\nEVENT_NOTIFICATION_SCRIPT=${script}\n`);
    const guest = spawn(process.execPath, [GUEST_CLIENT_BIN, '--listen', channelDir, '--uuid', UUID, '--config', conf, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    onTestFinished(async () => {
      if (guest.exitCode !== null || guest.signalCode !== null) return;
      guest.kill('SIGCONT');
      guest.kill('SIGKILL');
      await once(guest, 'exit');
    });
    await until(() => existsSync(join(channelDir, `cgcs.heartbeat.${UUID}.sock`)), 10_000, 'the guest socket');
    await vim.waitFor((r) => isEvent('service')(r) && data(r).services?.[0]?.status === 'enabled', 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });

    // Pause: the agent forwards it (suspend notice 8 + 1 s); the guest's script agrees.
    const pause = await vimCall(ports.vim, 'POST', `/v1/instances/${UUID}/notify`, { uuid: UUID, hostname: HOSTNAME, action: 'pause' });
    expect(JSON.parse(pause.text)).toMatchObject({ action: 'pause', timeout: '9' });
    await vim.waitFor((r) => isEvent('action')(r) && data(r).action === 'pause', 15_000);
    await until(async () => (await readFile(notified, 'utf8').catch(() => '')).includes('irrevocable pause'), 5000, 'the pause script run');

    // The VM is paused: frozen for 4 s, ten heartbeat intervals.
    guest.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 4000));
    guest.kill('SIGCONT');
    // Right after the unpause the VIM notifies it: forwarded with the resume notice, not answered "0".
    const unpause = await vimCall(ports.vim, 'POST', `/v1/instances/${UUID}/notify`, { uuid: UUID, hostname: HOSTNAME, action: 'unpause' });
    expect(JSON.parse(unpause.text)).toMatchObject({ action: 'unpause', timeout: '9' });
    await until(async () => (await readFile(notified, 'utf8').catch(() => '')).includes('irrevocable unpause'), 10_000, 'the unpause script run')
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });
    await vim.waitFor((r) => isEvent('action')(r) && data(r).action === 'unpause', 15_000);

    // No alarm and no "disabled" at any point.
    expect(vim.records.filter(isEvent('alarm'))).toHaveLength(0);
    expect(vim.records.filter(isEvent('service')).map((r) => data(r).services?.[0]?.status)).not.toContain('disabled');
  }, 90_000);
});

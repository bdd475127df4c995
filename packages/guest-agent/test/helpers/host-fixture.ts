/** One compute host as the audit tests need it: a FakeVim that knows it, its FakeServer, and an agent on both. */
import { onTestFinished } from 'vitest';
import type { Clock } from '@guesthb/protocol';
import type { GuestAgentDeps } from '../../src/index.js';
import { startAgent, type AgentHandle } from './agent-harness.js';
import { FakeServer } from './fake-server.js';
import { FakeVim } from './fake-vim.js';

export const FIXTURE_HOSTNAME = 'compute-0';

export interface HostFixture {
  readonly vim: FakeVim;
  readonly server: FakeServer;
  readonly handle: AgentHandle;
}

/** The VIM lists `instances` (uuid, reporting state) on host `hostUuid`; everything is closed after the test. */
export async function startHostFixture(
  hostUuid: string,
  instances: ReadonlyArray<readonly [uuid: string, state: 'enabled' | 'disabled']>,
  agent: { readonly clock?: Clock; readonly deps?: Partial<GuestAgentDeps> } = {},
): Promise<HostFixture> {
  const vim = new FakeVim({
    hosts: new Map([[FIXTURE_HOSTNAME, { uuid: hostUuid, state: 'enabled' }]]),
    hostInstances: new Map([[hostUuid, instances.map(([uuid, state]) => ({ uuid, hostname: FIXTURE_HOSTNAME, state }))]]),
  });
  await vim.start();
  onTestFinished(() => vim.close());
  const server = new FakeServer(FIXTURE_HOSTNAME);
  await server.start();
  onTestFinished(() => server.close());
  const handle = await startAgent({ vimEventUrl: vim.url, ...agent });
  return { vim, server, handle };
}

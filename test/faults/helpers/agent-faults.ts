/**
 * Helpers of the guest-agent fault trials (issue 12 item 9): the fault Stack with the agent started with its
 * own state_dir (the journal survives its kill -9), raw VIM calls (a GET may carry a body), a seeded random
 * source (the seed is printed so a failing trial replays: GUESTHB_FAULT_SEED) and readers of VIM records.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { AGENT_BIN, Daemon } from '../../helpers/daemon.js';
import { isFailedAlarm, uuidOfRecord, type Stack, type VimRecord } from './stack.js';

/** mulberry32: a small seeded PRNG, enough for choosing fault moments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The trials' seed: GUESTHB_FAULT_SEED, else from the time; printed by the caller. */
export function faultSeed(): number {
  const env = process.env['GUESTHB_FAULT_SEED'];
  return env === undefined ? Date.now() % 1_000_000 : Number(env);
}

/** Starts (or restarts) the stack's agent with a state_dir under the stack's dir, kept across restarts. */
export async function startAgentWithState(stack: Stack, options: { readonly auditSecs?: number; readonly extraIni?: string } = {}): Promise<Daemon> {
  const stateDir = join(stack.dir, 'agent-state');
  await mkdir(stateDir, { recursive: true });
  const config = join(stack.dir, 'agent-state.ini');
  await writeFile(config, `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = ${options.auditSecs ?? 1}\nstate_dir = ${stateDir}\n${options.extraIni ?? ''}`);
  const args = ['--config', config, '--port', String(stack.ports.rx), '--vim-cmd-port', String(stack.ports.vim), '--vim-event-url', stack.vim.url, '--log-level', 'info'];
  stack.agent = new Daemon('guest-agent', AGENT_BIN, args, `${stack.agentUrl}/healthz`);
  await stack.agent.waitHealthy();
  return stack.agent;
}

/** A VIM call as the VIM sends it (a GET may carry a body, which fetch cannot send). */
export function vimCall(port: number, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'user-agent': 'vim/1.0', 'content-type': 'application/json', connection: 'close' };
    if (text !== undefined) headers['content-length'] = String(Buffer.byteLength(text));
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 5_000 }, (res) => {
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { out += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: out }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('VIM call timed out')));
    req.on('error', reject);
    req.end(text);
  });
}

/** The repair action of an alarm record. */
export function repairActionOf(r: VimRecord): string | undefined {
  return (r.json as { 'event-data'?: { services?: { 'repair-action'?: string }[] } } | undefined)?.['event-data']?.services?.[0]?.['repair-action'];
}

/** Failed alarms per instance uuid, in arrival order. */
export function failedAlarms(records: readonly VimRecord[]): Map<string, VimRecord[]> {
  const out = new Map<string, VimRecord[]>();
  for (const r of records) {
    if (!isFailedAlarm(r)) continue;
    const list = out.get(uuidOfRecord(r)) ?? [];
    list.push(r);
    out.set(uuidOfRecord(r), list);
  }
  return out;
}

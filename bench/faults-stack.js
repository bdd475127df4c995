// The stack of the fault benchmark (issue 12 item 10): guest-agent (journal in a state_dir) and guest-server
// as real processes, simulated guests in this process, and a VIM listener that records arrival times and can
// go down and come back on the same port. The listener answers like the real one (alarms 200, other events no
// reply); its GET audit queries get no reply either, so the agent's host and instances come from its journal
// and from the servers, as after a swact.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedGuest } from '@guesthb/guest-client';
import { AGENT_BIN, SERVER_BIN, freePort, sleep, spawnNode, waitHealthy, waitUntil, scrape } from './lib/util.js';

/** A VIM event listener with an outage switch. */
export async function startFaultVim() {
  const records = [];
  const sockets = new Set();
  let server;
  let port = 0;
  const onConnection = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? '0');
      if (buffer.length < end + 4 + length) return;
      let json;
      try {
        json = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8'));
      } catch {
        json = undefined;
      }
      const [method = ''] = head.split('\r\n')[0].split(' ');
      records.push({ at: performance.now(), method, json });
      if (method === 'PATCH' && json?.['event-type'] === 'alarm') {
        socket.end(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ uuid: json.uuid, hostname: json.hostname, services: [] })}`);
      } else {
        socket.end();
      }
    });
  };
  const listen = async () => {
    server = createServer(onConnection);
    await new Promise((done, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', done); });
    port = server.address().port;
  };
  await listen();
  return {
    records,
    get url() { return `http://127.0.0.1:${port}`; },
    async down() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (s !== undefined) await new Promise((done) => s.close(() => done()));
    },
    async up() {
      for (let i = 0; ; i++) {
        try {
          await listen();
          return;
        } catch (err) {
          if (i > 50) throw err;
          await sleep(20);
        }
      }
    },
    close() { return this.down(); },
  };
}

/** `{uuid, state, action, response}` of a recorded PATCH. */
export function vimEventOf(record) {
  const json = record.json ?? {};
  const svc = json['event-data']?.services?.[0] ?? {};
  return { type: json['event-type'], uuid: json.uuid, state: svc.state, status: svc.status, repairAction: svc['repair-action'], response: json['event-data']?.['guest-response'] };
}

export const HOSTNAME = 'compute-0';
export const HOST_UUID = 'c0000000-0000-4000-8000-000000000001';

export class FaultStack {
  static async create(name) {
    const dir = await mkdtemp(join(tmpdir(), `gfb-${name}-`));
    const stack = new FaultStack(dir, await startFaultVim(), { rx: await freePort(), vim: await freePort(), server: await freePort() });
    await mkdir(stack.channelDir);
    await mkdir(join(dir, 'agent-state'));
    await mkdir(join(dir, 'server-state'));
    return stack;
  }

  constructor(dir, vim, ports) {
    this.dir = dir;
    this.channelDir = join(dir, 'ch');
    this.vim = vim;
    this.ports = ports;
    this.agent = undefined;
    this.server = undefined;
    this.guests = new Set();
  }

  get agentUrl() { return `http://127.0.0.1:${this.ports.rx}`; }
  get serverUrl() { return `http://127.0.0.1:${this.ports.server}`; }

  async startAgent() {
    const config = join(this.dir, 'agent.ini');
    await writeFile(config, `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 1\nstate_dir = ${join(this.dir, 'agent-state')}\n`);
    this.agent = spawnNode([AGENT_BIN, '--config', config, '--port', String(this.ports.rx), '--vim-cmd-port', String(this.ports.vim), '--vim-event-url', this.vim.url, '--log-level', 'warn']);
    await waitHealthy(`${this.agentUrl}/healthz`, this.agent);
  }

  async startServer() {
    const config = join(this.dir, 'server.ini');
    // init_deadline_secs shortened (default ≈ 20 s for these guests) so a guest hung across a server kill is lost within a trial.
    await writeFile(config, `[client]\nbind_address = 127.0.0.1\nhbs_failure_threshold = 1\nhbs_pulse_period = 100\nadvertise_url = ${this.serverUrl}\nsearch_audit_secs = 5\ninit_deadline_secs = 3\n`);
    this.server = spawnNode([SERVER_BIN, '--config', config, '--channel-dir', this.channelDir, '--agent-url', this.agentUrl, '--port', String(this.ports.server),
      '--hostname', HOSTNAME, '--log-level', 'warn', '--state-dir', join(this.dir, 'server-state')]);
    await waitHealthy(`${this.serverUrl}/healthz`, this.server);
  }

  /** kill -9 of guest-server; resolves when it is gone (its state directory stays). */
  async killServer() {
    const child = this.server;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  async serverMetric(name) {
    return (await scrape(`${this.serverUrl}/metrics`)).get(name) ?? 0;
  }

  /** kill -9 of the agent; resolves when it is gone. */
  async killAgent() {
    const child = this.agent;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  async agentMetric(name) {
    return (await scrape(`${this.agentUrl}/metrics`)).get(name) ?? 0;
  }

  /** A VIM command (a GET may carry a body). */
  async vimCall(method, path, body) {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const headers = { 'user-agent': 'vim/1.0', 'content-type': 'application/json', connection: 'close' };
      if (text !== undefined) headers['content-length'] = String(Buffer.byteLength(text));
      const req = request({ host: '127.0.0.1', port: this.ports.vim, method, path, headers, timeout: 5_000 }, (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { out += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: out }));
      });
      req.on('timeout', () => req.destroy(new Error('VIM call timed out')));
      req.on('error', reject);
      req.end(text);
    });
  }

  /** The VIM's part: the host known and enabled, the instances created with heartbeat reporting on. */
  async provision(uuids) {
    await this.vimCall('POST', `/v1/hosts/${HOST_UUID}`, { uuid: HOST_UUID, hostname: HOSTNAME });
    await this.vimCall('PUT', `/v1/hosts/${HOST_UUID}/enable`, { uuid: HOST_UUID, hostname: HOSTNAME });
    for (const uuid of uuids) {
      await this.vimCall('POST', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: ['heartbeat'] });
      const r = await this.vimCall('PATCH', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: [{ service: 'heartbeat', state: 'enabled' }] });
      if (r.status !== 200) throw new Error(`I2 ${uuid} → ${r.status} ${r.text}`);
    }
  }

  /** A provisioned guest heartbeating every 300 ms, its "service enabled" seen at the VIM. */
  async guest(uuid, { action = 'reboot', vote } = {}) {
    await this.provision([uuid]);
    const guest = new SimulatedGuest({ dir: this.channelDir, uuid, config: { heartbeatIntervalMs: 300, correctiveAction: action, voteSecs: 4 }, ...(vote === undefined ? {} : { faults: { vote } }) });
    await guest.start();
    this.guests.add(guest);
    await waitUntil(() => this.vim.records.some((r) => { const e = vimEventOf(r); return e.type === 'service' && e.uuid === uuid && e.status === 'enabled'; }), 20_000, `${uuid} enabled at the VIM`);
    return guest;
  }

  async dropGuest(guest, uuid) {
    this.guests.delete(guest);
    await guest.close();
    await this.vimCall('DELETE', `/v1/instances/${uuid}`);
  }

  async close() {
    for (const g of this.guests) await g.close().catch(() => undefined);
    for (const child of [this.server, this.agent]) {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
    }
    await this.vim.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

// The hostile guests of the fairness benchmark (issue 11 item 4), in their own process. Driven over IPC:
// {cmd:'start', dir, first, count, intervalMs} → 'ready'; 'status' → counts; 'stop' closes everything.
// Four kinds in turn (index % 4), each playing QEMU's side of a channel:
//   garbage  – after init, writes 1 kB of garbage lines (not JSON, bogus types, NUL/0xff) every 10 ms and
//              never reads (nacks pile up at the server);
//   bytewise – answers challenges correctly, every byte a separate write, and trickles a junk byte every ms;
//   reinit   – sends a new init every 10 ms (a re-initialisation loop);
//   echo     – answers every challenge with a wrong value, and sends an unsolicited response every 10 ms.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { uuidOf } from './lib/util.js';

const KINDS = ['garbage', 'bytewise', 'reinit', 'echo'];
const GARBAGE_LINE = '\n{this is not json\u0000\u00ff}\n{"version":3,"revision":1,"msg_type":"bogus","sequence":1}\n\n';
const GARBAGE = Buffer.from(GARBAGE_LINE.repeat(Math.ceil(1024 / GARBAGE_LINE.length)), 'latin1');
let guests = [];

function init(index, intervalMs, invocation) {
  return `\n{"version":3,"revision":1,"msg_type":"init","sequence":0,"invocation_id":${invocation},"name":"hostile-${index}","heartbeat_interval_ms":${intervalMs},"vote_secs":10,"shutdown_notice_secs":10,"suspend_notice_secs":10,"resume_notice_secs":10,"restart_secs":120,"corrective_action":"reboot"}\n`;
}

function response(value) {
  return `\n{"version":3,"revision":1,"msg_type":"challenge_response","sequence":1,"heartbeat_response":${value},"heartbeat_health":"healthy","corrective_action":"none","log_msg":""}\n`;
}

function onConnection(g, socket, intervalMs) {
  if (g.socket !== undefined) {
    socket.destroy();
    return;
  }
  g.socket = socket;
  g.connections++;
  socket.on('error', () => undefined);
  const timers = [];
  socket.on('close', () => {
    for (const t of timers) clearInterval(t);
    if (g.socket === socket) g.socket = undefined;
  });
  const write = (data) => { if (!socket.destroyed && socket.writableLength < 256 * 1024) socket.write(data); };
  let invocation = 1;
  write(init(g.index, intervalMs, invocation));
  let pending = '';
  const challenges = (chunk, answer) => {
    pending += chunk.toString('latin1');
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const at = line.indexOf('"heartbeat_challenge":');
      if (at >= 0) answer(Number.parseInt(line.slice(at + 22), 10));
    }
  };
  switch (g.kind) {
    case 'garbage':
      socket.pause();
      timers.push(setInterval(() => write(GARBAGE), 10));
      return;
    case 'bytewise': {
      let queue = Buffer.alloc(0);
      socket.on('data', (chunk) => challenges(chunk, (v) => { queue = Buffer.concat([queue, Buffer.from(response(v))]); }));
      timers.push(setInterval(() => {
        if (queue.length > 0) {
          write(queue.subarray(0, 1));
          queue = queue.subarray(1);
        } else {
          write(' ');
        }
      }, 1));
      return;
    }
    case 'reinit':
      socket.on('data', () => undefined);
      timers.push(setInterval(() => write(init(g.index, intervalMs, ++invocation)), 10));
      return;
    case 'echo':
      socket.on('data', (chunk) => challenges(chunk, (v) => write(response((v + 1) % 2147483647))));
      timers.push(setInterval(() => write(response(12345)), 10));
      return;
  }
}

process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    guests = Array.from({ length: msg.count }, (_, i) => ({ index: msg.first + i, uuid: uuidOf(msg.first + i), kind: KINDS[i % KINDS.length], socket: undefined, server: undefined, connections: 0 }));
    await Promise.all(guests.map((g) => new Promise((resolve, reject) => {
      const path = join(msg.dir, `cgcs.heartbeat.${g.uuid}.sock`);
      rmSync(path, { force: true });
      const server = createServer((socket) => onConnection(g, socket, msg.intervalMs));
      server.maxConnections = 1;
      g.server = server;
      server.once('error', reject);
      server.listen(path, resolve);
    })));
    process.send({ type: 'ready' });
  } else if (msg.cmd === 'status') {
    process.send({ type: 'status', connected: guests.filter((g) => g.socket !== undefined).length, connections: guests.reduce((n, g) => n + g.connections, 0) });
  } else if (msg.cmd === 'stop') {
    for (const g of guests) g.socket?.destroy();
    await Promise.all(guests.map((g) => new Promise((resolve) => g.server.close(() => resolve()))));
    process.exit(0);
  }
});

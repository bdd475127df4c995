// A test VIM event listener for the benchmarks (vim §2.1): reads each request by Content-Length, records
// its arrival time, and answers as the real listener does: alarms get an HTTP/1.0 200 with a body, every
// other event gets no reply at all (the connection is closed without a status line).
import { createServer } from 'node:net';

export async function startVimListener() {
  const records = [];
  const waiters = [];
  const sockets = new Set();
  const server = createServer((socket) => {
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
      const at = performance.now();
      let json;
      try {
        json = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8'));
      } catch {
        json = undefined;
      }
      const [method = '', path = ''] = head.split('\r\n')[0].split(' ');
      const record = { at, method, path, json };
      records.push(record);
      for (const w of [...waiters]) if (w.predicate(record)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(record); }
      if (json?.['event-type'] === 'alarm') {
        const body = JSON.stringify({ uuid: json.uuid, hostname: json.hostname, services: [{ service: 'heartbeat', admin_state: 'unlocked' }] });
        socket.end(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n${body}`);
      } else {
        socket.end();
      }
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    records,
    close: () => new Promise((done) => { for (const s of sockets) s.destroy(); server.close(() => done()); }),
  };
}

/** The event-type and first service of a recorded PATCH. */
export function eventOf(record) {
  const svc = record.json?.['event-data']?.services?.[0] ?? {};
  return { type: record.json?.['event-type'], uuid: record.json?.uuid, state: svc.state, status: svc.status };
}

// A minimal guest-agent stand-in for the server benchmarks: acknowledges every POST /v1/events batch and
// counts the events by kind (a loss among answering guests is a false loss).
import { createServer } from 'node:http';

export async function startFakeAgent() {
  const counts = new Map();
  const losses = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let events = [];
      try {
        events = JSON.parse(body).events ?? [];
      } catch {
        events = [];
      }
      const now = performance.now();
      for (const e of events) {
        counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
        if (e.kind === 'loss') losses.push({ uuid: e.uuid, at: now });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ acked: events.map((e) => e.id) }));
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    losses,
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
  };
}

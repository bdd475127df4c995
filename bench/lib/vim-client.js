// The VIM's side of the agent's command API (vim §1): one undici Pool, User-Agent vim/1.0.
import { Pool } from 'undici';

export function vimPool(port, connections = 16, pipelining = 1) {
  // Bounded waits: a stuck daemon turns into an error instead of undici's 300 s default.
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const call = async (method, path, body) => {
    const res = await pool.request({
      method, path, headers: { 'user-agent': 'vim/1.0', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`VIM ${method} ${path} → ${res.statusCode} ${text}`);
    return text;
  };
  return { pool, call, close: () => pool.close() };
}

/** Runs fn over items with at most `limit` in flight. */
export async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The lazily made instance logger (issue 17 item 4): same lines as a pino child, made only when one is written. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { InstanceLog } from '../src/instance-log.js';

function capture(level: string): { log: pino.Logger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  const log = pino({ level, base: null, timestamp: false }, stream);
  let made = 0;
  const child = log.child.bind(log);
  log.child = ((bindings: pino.Bindings) => { made++; return child(bindings); }) as typeof log.child;
  return { log, lines, children: () => made };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('InstanceLog', () => {
  it('makes no child while nothing is written at the enabled level, then writes what parent.child(bindings) writes', async () => {
    const { log, lines, children } = capture('info');
    const ilog = new InstanceLog(log, { component: 'instance', uuid: 'u-1' });
    ilog.debug({ from: 'a', to: 'b' }, 'state');
    expect(children()).toBe(0);
    ilog.warn({ suppressed: 2 }, 'log lines suppressed');
    ilog.info({}, 'connected');
    await flush();
    expect(children()).toBe(1);
    expect(lines).toEqual([
      { level: 40, component: 'instance', uuid: 'u-1', suppressed: 2, msg: 'log lines suppressed' },
      { level: 30, component: 'instance', uuid: 'u-1', msg: 'connected' },
    ]);
  });

  it('follows the parent level set after the child was made (SIGHUP log_level)', async () => {
    const { log, lines } = capture('info');
    const ilog = new InstanceLog(log, { uuid: 'u-2' });
    ilog.info({}, 'first');
    log.level = 'debug';
    ilog.debug({}, 'now visible');
    log.level = 'error';
    ilog.warn({}, 'now hidden');
    ilog.error({}, 'shown');
    await flush();
    expect(lines.map((l) => l.msg)).toEqual(['first', 'now visible', 'shown']);
  });
});

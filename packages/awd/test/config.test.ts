import { describe, expect, it } from 'vitest';
import { buildConfig, parseArgs, parseConfigFile, type RawOptions } from '../src/config.js';
import { AwdErrorCode, hasAwdCode } from './codes.js';
import { parseQemuOpts } from '../src/qemu-opts.js';

const script = (): string => 'quit\n';
const build = (argv: string[], read: (p: string, maxBytes: number) => string = script): ReturnType<typeof buildConfig> => buildConfig(parseArgs(argv), read);

/** Use case 1 (docs/awd.txt), exactly as the issue writes it. */
const CASE1 = [
  '--chardev', 'socket,id=detection,host=0.0.0.0,port=9009,server=on,wait=off',
  '--chardev', 'socket,id=notification,host=127.0.0.1,port=4445',
  '--object', 'advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=FILE,iothread=iothread1,pulse_interval=1000,timeout=5000',
];

function expectCode(fn: () => unknown, code: string, message?: string): void {
  try {
    fn();
  } catch (err) {
    expect(hasAwdCode(err, code)).toBe(true);
    if (message !== undefined) expect((err as Error).message).toBe(message);
    return;
  }
  throw new Error('expected a throw');
}

describe('QEMU option strings', () => {
  it('parses key=value, bare flags, noKEY and ,, escapes', () => {
    const o = parseQemuOpts('socket,id=a,path=/tmp/x,,y,server,nowait');
    expect(o.type).toBe('socket');
    expect(Object.fromEntries(o.props)).toEqual({ id: 'a', path: '/tmp/x,y', server: 'on', wait: 'off' });
  });
});

describe('config', () => {
  it('use case 1 as written: listening TCP awd_node, connecting notification node, patch properties', () => {
    const c = build(CASE1);
    expect(c.watchdogs).toHaveLength(1);
    const w = c.watchdogs[0];
    expect(w).toMatchObject({
      id: 'awd1', server: true, pulseIntervalMs: 1000, timeoutMs: 5000, input: 'any', notify: 'auto', armAtStart: false,
      scriptPath: 'FILE', script: { text: 'quit\n', hmp: ['quit'], qmp: ['{"execute":"human-monitor-command","arguments":{"command-line":"quit"}}'] },
      maxScriptBytes: 1024 * 1024, stallThresholdMs: 500,
      awdNode: { id: 'detection', server: true, reconnectS: 0, address: { kind: 'tcp', host: '0.0.0.0', port: 9009 } },
      notificationNode: { id: 'notification', server: false, address: { kind: 'tcp', host: '127.0.0.1', port: 4445 } },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('single-dash QEMU spelling, --x=y, the 2019 `server,nowait` form and -object iothread are accepted', () => {
    const c = build([
      '-object', 'iothread,id=iothread1',
      '-chardev', 'socket,id=h1,host=3.3.3.3,port=9009,server,nowait',
      '--chardev=socket,id=heartbeat0,host=3.3.3.3,port=9009,reconnect=1',
      '-chardev', 'socket,id=n1,path=/run/mon.sock',
      '-chardev', 'socket,id=n2,host=3.3.3.8,port=4445',
      '-object', 'advanced-watchdog,id=p,awd_node=h1,notification_node=n1,server=on,opt_script=a,iothread=iothread1,pulse_interval=1000,timeout=5000',
      '-object', 'advanced-watchdog,id=s,awd_node=heartbeat0,notification_node=n2,server=off,opt_script=b,iothread=iothread2,timeout=10000',
    ]);
    expect(c.watchdogs.map((w) => w.id)).toEqual(['p', 's']);
    expect(c.watchdogs[0]?.awdNode).toMatchObject({ server: true });
    expect(c.watchdogs[1]).toMatchObject({ server: false, pulseIntervalMs: 5000, timeoutMs: 10_000, awdNode: { reconnectS: 1 } });
    expect(c.watchdogs[0]?.notificationNode.address).toEqual({ kind: 'unix', path: '/run/mon.sock' });
  });

  it('defaults: pulse_interval 5000 ms, timeout 2000 ms (awd spec §1)', () => {
    const c = build([CASE1[0] ?? '', CASE1[1] ?? '', CASE1[2] ?? '', CASE1[3] ?? '', '--object', 'advanced-watchdog,id=a,awd_node=detection,notification_node=notification,opt_script=f,iothread=i']);
    expect(c.watchdogs[0]).toMatchObject({ pulseIntervalMs: 5000, timeoutMs: 2000 });
  });

  it('awd extensions: input, notify, arm_at_start, retries', () => {
    const c = build([...CASE1.slice(0, 4), '--object', 'advanced-watchdog,id=a,awd_node=detection,notification_node=notification,opt_script=f,iothread=i,input=watchdog1,notify=qmp,arm_at_start=on,notify_retries=0,notify_retry_ms=50,notify_timeout_ms=700']);
    expect(c.watchdogs[0]).toMatchObject({ input: 'watchdog1', notify: 'qmp', armAtStart: true, notifyRetries: 0, notifyRetryMs: 50, notifyTimeoutMs: 700 });
  });

  const obj = (props: string): string[] => [...CASE1.slice(0, 4), '--object', `advanced-watchdog,id=a,${props}`];
  it.each([
    // Issue 13: the message names what is missing (the patch's named 'server', which is optional).
    ['awd_node=detection,notification_node=notification,opt_script=f', AwdErrorCode.OBJECT_INVALID, "advanced-watchdog 'a': missing 'iothread' (needs 'awd_node', 'notification_node', 'opt_script' and 'iothread')"],
    ['notification_node=notification,iothread=i', AwdErrorCode.OBJECT_INVALID, "advanced-watchdog 'a': missing 'awd_node', 'opt_script' (needs 'awd_node', 'notification_node', 'opt_script' and 'iothread')"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,max_script_bytes=0', AwdErrorCode.NOT_POSITIVE, "Property 'advanced-watchdog.max_script_bytes' requires a positive value"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,max_script_bytes=67108865', AwdErrorCode.OBJECT_INVALID, "Property 'advanced-watchdog.max_script_bytes' must be at most 67108864"],
    ['awd_node=nope,notification_node=notification,opt_script=f,iothread=i', AwdErrorCode.CHARDEV_NOT_FOUND, "Device 'nope' not found"],
    ['awd_node=detection,notification_node=detection,opt_script=f,iothread=i', AwdErrorCode.CHARDEV_IN_USE, "Device 'detection' is in use"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,timeout=0', AwdErrorCode.NOT_POSITIVE, "Property 'advanced-watchdog.timeout' requires a positive value"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,pulse_interval=0', AwdErrorCode.NOT_POSITIVE, "Property 'advanced-watchdog.pulse_interval' requires a positive value"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,colour=red', AwdErrorCode.OBJECT_INVALID, "Property 'advanced-watchdog.colour' not found"],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,input=lines', AwdErrorCode.OBJECT_INVALID, undefined],
    ['awd_node=detection,notification_node=notification,opt_script=f,iothread=i,timeout=-1', AwdErrorCode.USAGE, undefined],
  ])('rejects %s', (props, code, message) => {
    expectCode(() => build(obj(props)), code, message);
  });

  it('a chardev that is not a socket is "not reconnectable"', () => {
    expectCode(
      () => build(['--chardev', 'file,id=f,path=/tmp/x', ...CASE1.slice(2, 4), '--object', 'advanced-watchdog,id=a,awd_node=f,notification_node=notification,opt_script=s,iothread=i']),
      AwdErrorCode.CHARDEV_NOT_SOCKET,
      'chardev "f" is not reconnectable',
    );
  });

  it('opt_script larger than max_script_bytes is refused; the reader is told the limit', () => {
    const asked: number[] = [];
    const read = (_: string, maxBytes: number): string => (asked.push(maxBytes), 'x'.repeat(11));
    expectCode(() => build([...CASE1.slice(0, 4), '--object', 'advanced-watchdog,id=a,awd_node=detection,notification_node=notification,opt_script=big,iothread=i,max_script_bytes=10'], read),
      AwdErrorCode.SCRIPT, 'opt_script big is larger than max_script_bytes (10 bytes)');
    expect(asked).toEqual([10]);
  });

  it('[issue 13] a script that cannot be sent as QMP is a start-up error naming the file and line', () => {
    const bad = (text: string) => () => build(CASE1, () => text);
    expectCode(bad('stop\n{ "execute": "quit"\n\ninfo status\n'), AwdErrorCode.SCRIPT_SYNTAX, 'opt_script FILE:2: JSON object not closed by the end of the script');
    expectCode(bad('{"execute":"stop"} quit\n'), AwdErrorCode.SCRIPT_SYNTAX);
    expectCode(bad('# c\n{"execute": stop}\n'), AwdErrorCode.SCRIPT_SYNTAX);
    expectCode(bad('{"arguments": {}}\n'), AwdErrorCode.SCRIPT_SYNTAX, 'opt_script FILE:1: a QMP command needs "execute" (or "exec-oob") naming the command');
    // notify=hmp and notify=raw never send QMP: such a script is fine there.
    const hmp = build([...CASE1.slice(0, 4), '--object', 'advanced-watchdog,id=a,awd_node=detection,notification_node=notification,opt_script=f,iothread=i,notify=hmp'], () => '{ broken\n');
    expect(hmp.watchdogs[0]?.script).toEqual({ text: '{ broken\n', hmp: ['{ broken'], qmp: [] });
  });

  it('stall_threshold_ms is a positive ms property', () => {
    const c = build([...CASE1.slice(0, 4), '--object', 'advanced-watchdog,id=a,awd_node=detection,notification_node=notification,opt_script=f,iothread=i,stall_threshold_ms=2000']);
    expect(c.watchdogs[0]?.stallThresholdMs).toBe(2000);
  });

  it('opt_script missing or empty is an error naming the path', () => {
    expectCode(() => build(CASE1, () => { throw new Error('ENOENT'); }), AwdErrorCode.SCRIPT, "advanced-watchdog can't get opt script data: FILE");
    expectCode(() => build(CASE1, () => '  \n'), AwdErrorCode.SCRIPT);
  });

  it.each([
    [['--bogus', 'x']],
    [['--chardev']],
    [['--chardev', 'socket,id=a']],
    [['--chardev', 'socket,id=a,port=1,server=on,reconnect=1']],
    [['--chardev', 'socket,id=a,port=99999']],
    [['--chardev', 'socket,id=a,port=1,color=1']],
    [['--chardev', 'id=a,port=1']],
    [[...CASE1, '--http', 'x:y']],
    [[...CASE1, '--log-level', 'loud']],
    [CASE1.slice(0, 4)],
    [[...CASE1, '--object', 'memory-backend-ram,id=m']],
  ])('usage error: %j', (argv) => {
    expectCode(() => build(argv), AwdErrorCode.USAGE);
  });

  it('config file: one switch per line, comments, dashes optional; merges with the CLI', () => {
    const raw: RawOptions = parseArgs(['--http', '127.0.0.1:0']);
    parseConfigFile(
      [
        '# awd@primary',
        'chardev socket,id=detection,host=127.0.0.1,port=9009,server=on,wait=off',
        '--chardev=socket,id=notification,path=/run/qemu/mon.sock',
        '',
        'object advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=/etc/awd/quit,iothread=iothread1',
        'event-log /var/log/awd.jsonl',
        'log-level debug',
      ].join('\n'),
      raw,
      'awd.conf',
    );
    const c = buildConfig(raw, script);
    expect(c).toMatchObject({ http: { host: '127.0.0.1', port: 0 }, eventLogPath: '/var/log/awd.jsonl', logLevel: 'debug' });
    expect(c.watchdogs[0]?.notificationNode.address).toEqual({ kind: 'unix', path: '/run/qemu/mon.sock' });
    expectCode(() => parseConfigFile('frobnicate 1', raw, 'awd.conf'), AwdErrorCode.USAGE, "awd.conf:1: expected '<chardev|object|http|event-log|log-level> VALUE'");
  });
});

/** opt_script parsing (issue 13 item 2): once, linear, a clear error naming the line. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScript, qmpCommands, ScriptSyntaxError } from '../src/script.js';
import { tempDir } from './helpers.js';

function syntaxError(text: string): ScriptSyntaxError {
  try {
    qmpCommands(text);
  } catch (err) {
    if (err instanceof ScriptSyntaxError) return err;
    throw err;
  }
  throw new Error('expected a ScriptSyntaxError');
}

describe('QMP script splitting', () => {
  it('braces, brackets, quotes and escapes inside strings do not end an object', () => {
    const text = '{"execute":"human-monitor-command","arguments":{"command-line":"echo \\"}{]\\\\"}}\n';
    expect(qmpCommands(text)).toEqual([JSON.stringify(JSON.parse(text))]);
  });

  it('an object over several lines, with comment lines between, and blank space around objects', () => {
    expect(qmpCommands('  {\n# why\n  "execute": "stop",\n\n  "arguments": {}\n}  {"execute":"cont"}  \n')).toEqual(['{"execute":"stop","arguments":{}}', '{"execute":"cont"}']);
  });

  it('exec-oob commands pass; qmp_capabilities is dropped', () => {
    expect(qmpCommands('{"exec-oob":"migrate-pause"}\n{"execute":"qmp_capabilities"}\n')).toEqual(['{"exec-oob":"migrate-pause"}']);
  });

  it.each([
    ['stop\n\n{ "execute": "quit"\n', 3, 'JSON object not closed by the end of the script'],
    ['{"execute":"stop"}\n{"execute":"cont"} x\n', 2, "unexpected 'x' after a JSON command (one command per object; HMP text goes on its own line)"],
    ['{"execute":"stop\n"}\n', 1, 'a JSON string does not end on its line'],
    ['{"execute":[1}]\n', 1, undefined],
    ['{}\n', 1, 'a QMP command needs "execute" (or "exec-oob") naming the command'],
    ['quit\n{"execute": 1}\n', 2, 'a QMP command needs "execute" (or "exec-oob") naming the command'],
  ])('%j fails on line %i', (text, line, reason) => {
    const err = syntaxError(text);
    expect(err.line).toBe(line);
    if (reason !== undefined) expect(err.reason).toBe(reason);
  });

  it('parseScript keeps all forms; without forQmp a broken JSON line is plain HMP text', () => {
    expect(parseScript('stop\n{"execute":"quit"}\n', true)).toEqual({ text: 'stop\n{"execute":"quit"}\n', hmp: ['stop', '{"execute":"quit"}'], qmp: ['{"execute":"human-monitor-command","arguments":{"command-line":"stop"}}', '{"execute":"quit"}'] });
    expect(parseScript('{ nope\n', false).qmp).toEqual([]);
  });

  it('linear: 1 MiB of commands, and 1 MiB of one unclosed object, each parse in well under a second', () => {
    const many = '{"execute":"query-status"}\ninfo status\n'.repeat(Math.ceil((1 << 20) / 39));
    let t0 = performance.now();
    expect(qmpCommands(many)).toHaveLength(2 * Math.ceil((1 << 20) / 39));
    const manyMs = performance.now() - t0;
    // The case: the old parser re-parsed the pending text on every line (5.9 s for 128 KB).
    const unclosed = `{ "execute": "human-monitor-command", "arguments": {\n${'"k": "v",\n'.repeat((1 << 20) / 10)}`;
    t0 = performance.now();
    expect(syntaxError(unclosed).line).toBe(1);
    const unclosedMs = performance.now() - t0;
    // Generous bounds (a busy 2-core CI box); a quadratic parser takes minutes here.
    expect(manyMs).toBeLessThan(2000);
    expect(unclosedMs).toBeLessThan(2000);
  });
});

describe('CLI: a script that does not parse', () => {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
  it('exits 2 at start-up naming the file and line (128 KB unclosed object, the issue case)', async () => {
    const dir = await tempDir();
    const script = join(dir, 'script.json');
    writeFileSync(script, `# failover\n{ "execute": "stop",\n${'  "x": 1,\n'.repeat(13_000)}`);
    const r = spawnSync(process.execPath, [bin, '--chardev', 'socket,id=a,port=1,server=on', '--chardev', 'socket,id=b,port=2',
      '--object', `advanced-watchdog,id=w,awd_node=a,notification_node=b,opt_script=${script},iothread=t,notify=qmp`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`awd: opt_script ${script}:2: JSON object not closed by the end of the script\n`);
  });

  it('exits 2 when the script is larger than max_script_bytes', async () => {
    const dir = await tempDir();
    const script = join(dir, 'big.txt');
    writeFileSync(script, 'info status\n'.repeat(100));
    const r = spawnSync(process.execPath, [bin, '--chardev', 'socket,id=a,port=1,server=on', '--chardev', 'socket,id=b,port=2',
      '--object', `advanced-watchdog,id=w,awd_node=a,notification_node=b,opt_script=${script},iothread=t,max_script_bytes=1000`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`awd: opt_script ${script} is larger than max_script_bytes (1000 bytes)\n`);
  });
});

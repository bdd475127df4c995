/** The notification transcript stays bounded however long the script (issue 13: a 1 MiB script). */
import { describe, expect, it } from 'vitest';
import { MAX_TRANSCRIPT_COMMANDS, MAX_TRANSCRIPT_TEXT_CHARS, Transcript } from '../src/events.js';

describe('Transcript', () => {
  it('keeps everything for a short script', () => {
    const t = new Transcript();
    t.add({ sent: 'stop', answer: '', ok: true });
    t.add({ sent: 'quit', answer: null, ok: true });
    expect(t.toEvent()).toEqual({ commands: [{ sent: 'stop', answer: '', ok: true }, { sent: 'quit', answer: null, ok: true }] });
    expect(t.firstRejected).toBeUndefined();
  });

  it('keeps the first commands and later rejected ones, cuts long texts, and counts them all', () => {
    const t = new Transcript();
    for (let i = 0; i < 30_000; i++) t.add({ sent: `cmd ${i}`, answer: i % 1000 === 999 ? 'Error: no' : '', ok: i % 1000 !== 999 });
    t.add({ sent: 'x'.repeat(5000), answer: 'y'.repeat(5000), ok: false });
    const e = t.toEvent();
    expect(e.commandCount).toBe(30_001);
    expect(e.commands).toHaveLength(MAX_TRANSCRIPT_COMMANDS + 31);
    expect(e.commands.slice(MAX_TRANSCRIPT_COMMANDS).every((c) => !c.ok)).toBe(true);
    expect(e.commands.at(-1)?.sent).toBe(`${'x'.repeat(MAX_TRANSCRIPT_TEXT_CHARS)}… (5000 chars)`);
    expect(t.firstRejected).toEqual({ sent: 'cmd 999', answer: 'Error: no', ok: false });
  });

  it('never keeps more than twice the bound', () => {
    const t = new Transcript();
    for (let i = 0; i < 10_000; i++) t.add({ sent: 'bad', answer: 'Error: no', ok: false });
    expect(t.toEvent().commands).toHaveLength(2 * MAX_TRANSCRIPT_COMMANDS);
    expect(t.count).toBe(10_000);
  });
});

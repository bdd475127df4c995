/** The terminal side of the demo: a status table redrawn in place on a TTY, plain lines otherwise. */

export interface StatusRow {
  readonly instance: string;
  readonly guestState: string;
  readonly hostView: string;
  readonly latencyMs: number | undefined;
  readonly challenges: number;
  readonly misses: number;
  readonly fault: string;
  readonly lastEvent: string;
}

const COLUMNS: readonly [string, number][] = [
  ['instance', 8], ['guest state', 19], ['heartbeat (agent)', 17], ['chal→resp', 9], ['challenges', 10], ['misses', 6], ['fault', 18], ['last VIM event', 24],
];

/** The table as lines of text. */
export function renderTable(rows: readonly StatusRow[]): string[] {
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.slice(0, COLUMNS[i]?.[1] ?? 20).padEnd(COLUMNS[i]?.[1] ?? 20)).join(' ').trimEnd();
  const out = [line(COLUMNS.map(([name]) => name)), line(COLUMNS.map(([, width]) => '-'.repeat(width)))];
  for (const r of rows) {
    out.push(line([
      r.instance.slice(0, 8), r.guestState, r.hostView, r.latencyMs === undefined ? '-' : `${r.latencyMs.toFixed(1)} ms`,
      String(r.challenges), String(r.misses), r.fault, r.lastEvent,
    ]));
  }
  return out;
}

export class StatusView {
  readonly #out: NodeJS.WritableStream;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #drawn = 0;
  #last: string[] = [];

  readonly #columns: () => number | undefined;

  /** `columns`: the terminal width; on a TTY lines are cut to it so the in-place redraw stays aligned. */
  constructor(out: NodeJS.WritableStream, tty: boolean, columns: () => number | undefined = () => undefined) {
    this.#out = out;
    this.#tty = tty;
    this.#columns = columns;
  }

  /** One line of news: printed above the table (TTY) or as a plain line. */
  event(text: string): void {
    const stamp = `[+${((performance.now() - this.#started) / 1000).toFixed(1).padStart(5)}s]`;
    if (this.#tty) {
      this.#erase();
      this.#out.write(`${`${stamp} ${text}`.slice(0, Math.max(20, (this.#columns() ?? 1000) - 1))}\n`);
      this.#draw(this.#last);
    } else {
      this.#out.write(`${stamp} ${text}\n`);
    }
  }

  /** Shows the table: redrawn in place on a TTY; printed whole otherwise (the caller paces it). */
  table(rows: readonly StatusRow[]): void {
    const lines = renderTable(rows);
    this.#last = lines;
    if (this.#tty) {
      this.#erase();
      this.#draw(lines);
    } else {
      this.#out.write(`${lines.join('\n')}\n`);
    }
  }

  #erase(): void {
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }

  #draw(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const width = Math.max(20, (this.#columns() ?? 1000) - 1);
    this.#out.write(`${lines.map((l) => l.slice(0, width)).join('\n')}\n`);
    this.#drawn = lines.length;
  }
}

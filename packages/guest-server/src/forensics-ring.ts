/**
 * The forensics ring of one instance (issue 16 item 5): its last FORENSICS_ROUNDS challenge round trips and
 * misses, and the guest's last non-empty log_msg. Pure and fixed-size: no allocation per heartbeat.
 */
import { FORENSICS_ROUNDS, type ForensicsRound } from '@guesthb/protocol';

const MISS = -1;

export class ForensicsRing {
  /**
   * Round k at [2k] (when its challenge was sent, monotonic ms) and [2k + 1] (its round-trip time in ms, or
   * MISS). One plain array of doubles, on the V8 heap (528 bytes): two Float64Arrays cost 880 bytes of heap
   * and malloc'd backing stores per instance (issue 17 item 4, bench/memory.js).
   */
  readonly #slots: number[] = new Array<number>(2 * FORENSICS_ROUNDS).fill(0.5);   // doubles from the start: no reallocation at the first store
  #next = 0;
  #size = 0;
  #lastLogMsg: string | undefined;

  /** A valid response `rttMs` after its challenge, received at `at`. */
  answered(at: number, rttMs: number): void {
    this.#push(at - rttMs, Math.max(0, rttMs));
  }

  /** A window closed without a valid response; its challenge went out at about `sentAt`. */
  missed(sentAt: number): void {
    this.#push(sentAt, MISS);
  }

  /** The guest's log_msg; empty ones (the usual "healthy" answer) do not replace a meaningful one. */
  logMsg(text: string): void {
    if (text.length > 0) this.#lastLogMsg = text.length > 256 ? text.slice(0, 256) : text;
  }

  get lastLogMsg(): string | undefined {
    return this.#lastLogMsg;
  }

  get size(): number {
    return this.#size;
  }

  /** The rounds, oldest first, with their age at `now`. */
  rounds(now: number): ForensicsRound[] {
    const out: ForensicsRound[] = [];
    const start = (this.#next - this.#size + FORENSICS_ROUNDS) % FORENSICS_ROUNDS;
    for (let k = 0; k < this.#size; k++) {
      const i = (start + k) % FORENSICS_ROUNDS;
      const rtt = this.#slots[2 * i + 1] as number;
      out.push({ agoMs: Math.max(0, Math.round(now - (this.#slots[2 * i] as number))), rttMs: rtt === MISS ? null : Math.round(rtt * 100) / 100 });
    }
    return out;
  }

  #push(sentAt: number, rtt: number): void {
    this.#slots[2 * this.#next] = sentAt;
    this.#slots[2 * this.#next + 1] = rtt;
    this.#next = (this.#next + 1) % FORENSICS_ROUNDS;
    if (this.#size < FORENSICS_ROUNDS) this.#size++;
  }
}

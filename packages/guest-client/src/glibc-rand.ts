/**
 * glibc's unseeded rand() (TYPE_3 additive feedback generator, seed 1). The reference client never seeds
 * rand(), so its invocation ids always run 1804289383, 846930886, 1681692777 … (client §4.1 [verified]).
 * We reproduce that sequence by default so transcripts match the original byte for byte.
 */
export class GlibcRandom {
  readonly #r = new Int32Array(34);
  #i = 0;

  constructor(seed = 1) {
    const r: number[] = [seed === 0 ? 1 : seed];
    for (let i = 1; i < 31; i++) {
      const prev = r[i - 1] ?? 0;
      let next = (16807 * prev) % 2147483647;
      if (next < 0) next += 2147483647;
      r.push(next);
    }
    for (let i = 31; i < 34; i++) r.push(r[i - 31] ?? 0);
    this.#r.set(r);
    // glibc discards the first 310 outputs of the feedback loop.
    for (let i = 34; i < 344; i++) this.#step();
  }

  /** The next rand() value, in 0..2^31-1. */
  next(): number {
    return this.#step() >>> 1;
  }

  #step(): number {
    const r = this.#r;
    const i = this.#i;
    const value = ((r[(i + 34 - 31) % 34] ?? 0) + (r[(i + 34 - 3) % 34] ?? 0)) | 0;
    r[i] = value;
    this.#i = (i + 1) % 34;
    return value >>> 0;
  }
}

/**
 * A small persistent (immutable) map for the agent's reducer state: `set`/`delete` return a new map that
 * shares everything but one bucket with the old one, so a step that changes one instance of 200 000 copies
 * ~1 000 references instead of the whole table. Keys are strings; buckets are chosen by an FNV-1a hash.
 * Iteration order is by bucket, then by insertion within the bucket (callers that need an order sort).
 */
const BUCKETS = 256;

function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

export class PMap<V> {
  static empty<V>(): PMap<V> {
    return new PMap<V>(Array.from({ length: BUCKETS }, () => EMPTY_BUCKET as ReadonlyMap<string, V>), 0);
  }

  readonly #buckets: readonly ReadonlyMap<string, V>[];
  readonly size: number;

  private constructor(buckets: readonly ReadonlyMap<string, V>[], size: number) {
    this.#buckets = buckets;
    this.size = size;
  }

  get(key: string): V | undefined {
    return this.#buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.#buckets[bucketOf(key)]?.has(key) ?? false;
  }

  set(key: string, value: V): PMap<V> {
    const b = bucketOf(key);
    const old = this.#buckets[b] ?? EMPTY_BUCKET;
    if (old.get(key) === value && old.has(key)) return this;
    const next = new Map(old);
    next.set(key, value);
    const buckets = this.#buckets.slice();
    buckets[b] = next;
    return new PMap(buckets, this.size + (old.has(key) ? 0 : 1));
  }

  delete(key: string): PMap<V> {
    const b = bucketOf(key);
    const old = this.#buckets[b] ?? EMPTY_BUCKET;
    if (!old.has(key)) return this;
    const next = new Map(old);
    next.delete(key);
    const buckets = this.#buckets.slice();
    buckets[b] = next;
    return new PMap(buckets, this.size - 1);
  }

  *values(): IterableIterator<V> {
    for (const bucket of this.#buckets) yield* bucket.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const bucket of this.#buckets) yield* bucket.entries();
  }
}

const EMPTY_BUCKET: ReadonlyMap<string, never> = new Map<string, never>();

/** A small durable key → value map (journal.ts implements it; tests may use an in-memory one). */
export interface KeyValueStore {
  get(key: string): unknown;
  /** Stores a JSON-serialisable value (not `undefined`); latest wins. */
  put(key: string, value: unknown): void;
  delete(key: string): void;
  /** Every live key with its value, in no particular order. */
  entries(): IterableIterator<[string, unknown]>;
}

/** A view of `store` whose keys all start with `prefix` (the prefix is hidden from the caller). */
export function scopeStore(store: KeyValueStore, prefix: string): KeyValueStore {
  return {
    get: (key) => store.get(prefix + key),
    put: (key, value) => store.put(prefix + key, value),
    delete: (key) => store.delete(prefix + key),
    *entries() {
      for (const [key, value] of store.entries()) {
        if (key.startsWith(prefix)) yield [key.slice(prefix.length), value];
      }
    },
  };
}

/** A KeyValueStore in memory (tests, or a daemon run without a state directory). */
export class MemoryStore implements KeyValueStore {
  readonly #map = new Map<string, unknown>();

  get(key: string): unknown {
    return this.#map.get(key);
  }

  put(key: string, value: unknown): void {
    // A deep copy, as a journal's replay would give back.
    this.#map.set(key, JSON.parse(JSON.stringify(value)) as unknown);
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  entries(): IterableIterator<[string, unknown]> {
    return this.#map.entries();
  }

  get size(): number {
    return this.#map.size;
  }
}

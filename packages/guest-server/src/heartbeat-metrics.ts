/**
 * Metrics updated on every heartbeat (issue 17), without prom-client's per-update cost: its
 * `Histogram.observe()` allocates a closure, a labels object and a label/value pair and looks the bucket
 * up by a float-keyed property (~380 bytes of garbage per heartbeat for the two histograms, measured with
 * bench/hot-path.js), and `Counter.inc()` allocates a labels object. Here an update is an increment in a
 * typed array; the registry reads the totals at scrape time. The exposition is prom-client's own format
 * (same names, `le` labels, `_bucket`/`_sum`/`_count` lines), so scrapers and the benches read it unchanged.
 */
import { Counter, type Registry } from 'prom-client';

/**
 * A label-less histogram registered in a prom-client Registry as a metric of its own (the registry asks
 * each metric for `get()`; this answers with cumulative buckets as prom-client's Histogram does).
 */
export class HeartbeatHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  /** counts[i] = observations ≤ bounds[i] and > bounds[i-1]; the last slot is above every bound (+Inf). */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(options: { readonly name: string; readonly help: string; readonly buckets: readonly number[]; readonly registers: readonly Registry[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = Float64Array.from([...options.buckets].sort((a, b) => a - b));
    this.#counts = new Float64Array(this.#bounds.length + 1);
    // prom-client's Registry takes any object with name/help/type/get() (its Metric union is only a type).
    for (const r of options.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += value;
    this.#count++;
  }

  /** prom-client's Metric.get(): cumulative buckets, then sum and count. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i] as number;
      values.push({ labels: { le: this.#bounds[i] as number }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    values.push({ labels: { le: '+Inf' }, value: this.#count, metricName: `${this.name}_bucket` });
    values.push({ labels: {}, value: this.#sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.#count, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}

/** A label-less prom-client Counter whose increments are summed locally and handed over at scrape time. */
export class HeartbeatCounter {
  /** pending[0]: increments not yet handed to prom-client. */
  readonly #pending = new Float64Array(1);
  readonly counter: Counter;

  constructor(name: string, help: string, registers: readonly Registry[]) {
    const pending = this.#pending;
    this.counter = new Counter({
      name, help, registers: [...registers],
      collect(): void {
        const n = pending[0] as number;
        if (n > 0) this.inc(n);
        pending[0] = 0;
      },
    });
  }

  inc(n = 1): void {
    this.#pending[0] = (this.#pending[0] as number) + n;
  }
}

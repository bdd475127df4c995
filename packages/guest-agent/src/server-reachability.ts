/**
 * Honest health on the agent's side (issue 11 item 6): whether each registered guest-server answers us.
 * A ServerClient decorator records, per server URL, the outcome of the last call (the audit queries every
 * server each period, so a change shows within one or two periods); health() turns the registered servers
 * that are unreachable or refuse our token into reasons for /healthz and a gauge.
 */
import type { ServerClient } from './server-client.js';

interface Contact {
  readonly ok: boolean;
  readonly at: number;
  readonly error?: string;
}

/** Contacts remembered (URLs of servers); past this the oldest is forgotten. */
const MAX_CONTACTS = 10_000;

export class ServerReachability {
  readonly #contacts = new Map<string, Contact>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** `client` with every call's outcome recorded. */
  wrap(client: ServerClient): ServerClient {
    const track = async <T>(url: string, call: () => Promise<T>): Promise<T> => {
      try {
        const result = await call();
        this.#record(url, { ok: true, at: this.#now() });
        return result;
      } catch (err) {
        this.#record(url, { ok: false, at: this.#now(), error: (err as Error).message });
        throw err;
      }
    };
    return {
      putInstance: (url, uuid, reporting) => track(url, () => client.putInstance(url, uuid, reporting)),
      deleteInstance: (url, uuid) => track(url, () => client.deleteInstance(url, uuid)),
      putHost: (url, reporting) => track(url, () => client.putHost(url, reporting)),
      action: (url, uuid, command, event) => track(url, () => client.action(url, uuid, command, event)),
      query: (url) => track(url, () => client.query(url)),
    };
  }

  /** Reasons for the registered servers (hostname → url) whose last call failed. */
  reasons(servers: Iterable<{ readonly hostname: string; readonly url: string }>): string[] {
    const out: string[] = [];
    for (const { hostname, url } of servers) {
      const c = this.#contacts.get(url);
      if (c === undefined || c.ok) continue;
      out.push(/HTTP 40[13]/.test(c.error ?? '')
        ? `server ${hostname} (${url}) refuses our token (HTTP 401): the token files differ`
        : `server ${hostname} unreachable at ${url}: ${c.error ?? 'failed'}`);
    }
    return out;
  }

  #record(url: string, contact: Contact): void {
    this.#contacts.delete(url);
    this.#contacts.set(url, contact);
    if (this.#contacts.size > MAX_CONTACTS) this.#contacts.delete(this.#contacts.keys().next().value as string);
  }
}

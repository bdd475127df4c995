/** The VIM's side of the command channel (vim §1.2): what the demo sends the agent to create its inventory. */

const HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'vim/1.0' } as const;

export interface VimCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
}

/** Sends one call; returns the status and the parsed body (or the text). */
export async function vimCall(baseUrl: string, call: VimCall, timeoutMs = 5000): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${call.path}`, {
    method: call.method,
    headers: HEADERS,
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    // guestAgent's error pages are not JSON; keep the text.
  }
  return { status: res.status, body };
}

/** Retries a call until it answers 2xx or the deadline passes. */
export async function vimCallUntilOk(baseUrl: string, call: VimCall, deadlineMs: number): Promise<unknown> {
  const until = performance.now() + deadlineMs;
  let last = 'no answer';
  while (performance.now() < until) {
    try {
      const { status, body } = await vimCall(baseUrl, call);
      if (status >= 200 && status < 300) return body;
      last = `HTTP ${status} ${typeof body === 'string' ? body.slice(0, 120) : JSON.stringify(body)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${call.method} ${call.path} did not succeed: ${last}`);
}

/** The calls the VIM makes for a new compute host and its heartbeat-enabled instances (vim §1.2 H1, H2, I1, I2). */
export function provisioningCalls(hostUuid: string, hostname: string, instances: readonly string[]): VimCall[] {
  return [
    { method: 'POST', path: `/v1/hosts/${hostUuid}`, body: { uuid: hostUuid, hostname } },
    { method: 'PUT', path: `/v1/hosts/${hostUuid}/enable`, body: { uuid: hostUuid, hostname } },
    ...instances.flatMap((uuid): VimCall[] => [
      { method: 'POST', path: `/v1/instances/${uuid}`, body: { uuid, hostname, services: ['heartbeat'] } },
      { method: 'PATCH', path: `/v1/instances/${uuid}`, body: { uuid, hostname, services: [{ service: 'heartbeat', state: 'enabled' }] } },
    ]),
  ];
}

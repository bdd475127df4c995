/**
 * A host end on a real pty, the way QEMU presents a virtio-serial port to the guest: util-linux `script`
 * allocates the pty and holds its master; its stdin/stdout are the master's bytes. The slave (a character
 * device) is published through a symlink, as udev publishes /dev/virtio-ports/cgcs.heartbeat, so a new
 * host (a new pty) can take over the same path after `hangUp()` closed the old master.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { rename, symlink } from 'node:fs/promises';
import { onTestFinished } from 'vitest';
import { GUEST_TO_HOST_TYPES, WireDecoder, type WireMessage } from '@guesthb/protocol';

export class PtyHost {
  readonly messages: WireMessage[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<unknown>;
  #slave: string | undefined;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.#exited = once(child, 'exit');
  }

  /** Starts a pty (raw, no echo) and points `linkPath` at its slave. */
  static async start(linkPath: string): Promise<PtyHost> {
    // `sleep` keeps the slave's session alive; `tty` prints the slave's name first.
    const child = spawn('script', ['-qfec', 'stty raw -echo; tty; exec sleep 3600', '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const host = new PtyHost(child);
    onTestFinished(() => host.hangUp());
    const decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
    let head = '';
    const slave = new Promise<string>((resolve, reject) => {
      child.once('exit', () => reject(new Error('script exited before naming the pty')));
      child.stdout.on('data', (chunk: Buffer) => {
        if (host.#slave === undefined) {
          head += chunk.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) return;
          host.#slave = head.slice(0, nl).trim();
          resolve(host.#slave);
          chunk = Buffer.from(head.slice(nl + 1), 'latin1');
        }
        for (const r of decoder.push(chunk)) if (r.ok) host.messages.push(r.message);
      });
    });
    const path = await slave;
    const tmp = `${linkPath}.new`;
    await symlink(path, tmp);
    await rename(tmp, linkPath);
    return host;
  }

  /** Writes bytes to the master: the guest reads them from the device. */
  send(text: string): void {
    this.#child.stdin.write(text);
  }

  /** The host end goes away: the master closes (SIGKILL to `script`), the slave reads EOF/EIO. */
  async hangUp(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  of<T extends WireMessage['msg_type']>(type: T): (WireMessage & { msg_type: T })[] {
    return this.messages.filter((m): m is WireMessage & { msg_type: T } => m.msg_type === type);
  }
}

/**
 * [16.1-2] Finding and sampling a channel's VMM: the pure /proc parsers, then ProcProbe on the real /proc
 * with a real child process listening on a UNIX socket (as QEMU does): found by the socket's inode,
 * sampled running, stopped (SIGSTOP) and gone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ProcProbe } from '../src/vmm-probe.js';
import { isVcpuThreadName, parseSchedstat, processStateOf, socketInodeOfLink, socketInodesByPath, uuidOfChannel } from '../src/vmm-locator.js';

const NET_UNIX = [
  'Num       RefCount Protocol Flags    Type St Inode Path',
  '000000004af1433d: 00000002 00000000 00010000 0001 01 312551 /tmp/ch/cgcs.heartbeat.b0000000-0000-4000-8000-00000000010e.sock',
  '0000000060af0a12: 00000003 00000000 00000000 0001 03 312476 /tmp/ch/cgcs.heartbeat.b0000000-0000-4000-8000-00000000010e.sock',
  '00000000aa000000: 00000003 00000000 00000000 0001 03 312477',
  '00000000bb000000: 00000002 00000000 00010000 0001 01 400001 /tmp/with space/qmp.sock',
  '00000000cc000000: 00000002 00000000 00010000 0001 01 400002 @abstract-name',
  'garbage line',
  '',
].join('\n');

describe('[16.1] /proc parsing (pure)', () => {
  it('maps wanted socket paths to the inodes of the listening and the accepted socket; paths may hold spaces', () => {
    const wanted = new Set(['/tmp/ch/cgcs.heartbeat.b0000000-0000-4000-8000-00000000010e.sock', '/tmp/with space/qmp.sock', '/tmp/none.sock']);
    const map = socketInodesByPath(NET_UNIX, wanted);
    expect([...map.entries()]).toEqual([
      ['/tmp/ch/cgcs.heartbeat.b0000000-0000-4000-8000-00000000010e.sock', [312551, 312476]],
      ['/tmp/with space/qmp.sock', [400001]],
    ]);
    expect(socketInodesByPath('', wanted).size).toBe(0);
  });

  it('reads fd link targets, thread names, process states and schedstat; bad input gives undefined', () => {
    expect(socketInodeOfLink('socket:[312551]')).toBe(312551);
    expect(socketInodeOfLink('pipe:[5]')).toBeUndefined();
    expect(socketInodeOfLink('socket:[x]')).toBeUndefined();
    expect(['CPU 0/KVM', 'CPU 12/TCG\n', 'ALL CPUs/TCG'].map(isVcpuThreadName)).toEqual([true, true, true]);
    expect(['qemu-system-x86', 'IO mon_iothread', 'CPU/KVM', 'worker'].map(isVcpuThreadName)).toEqual([false, false, false, false]);
    expect(processStateOf('123 (qemu) x) S 1 2 3')).toBe('S');
    expect(processStateOf('42 (CPU 0/TCG) R 1')).toBe('R');
    expect(processStateOf('nonsense')).toBeUndefined();
    expect(parseSchedstat('523163641 2476093201 276\n')).toEqual({ cpuNs: 523163641, waitNs: 2476093201, slices: 276 });
    expect(parseSchedstat('1 2')).toBeUndefined();
    expect(parseSchedstat('a b c')).toBeUndefined();
    expect(uuidOfChannel('/var/lib/libvirt/qemu/cgcs.heartbeat.0A0B0C0D-1111-2222-3333-444455556666.sock')).toBe('0a0b0c0d-1111-2222-3333-444455556666');
    expect(uuidOfChannel('/x/wrs.heartbeat.agent.0.0a0b0c0d-1111-2222-3333-444455556666.sock')).toBe('0a0b0c0d-1111-2222-3333-444455556666');
    expect(uuidOfChannel('/x/qmp.sock')).toBeUndefined();
  });
});

describe('[16.1-2] ProcProbe on the real /proc', () => {
  it('finds the process listening on a channel socket, samples it running and stopped, and notices it gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vp-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'cgcs.heartbeat.x.sock');
    // A stand-in VMM: another process listening on the channel path, as QEMU does (server=on).
    const child = spawn(process.execPath, ['-e', `require('net').createServer((c) => c.on('data', () => {})).listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => { child.kill('SIGKILL'); });
    await once(child.stdout, 'data');
    const client = createConnection({ path });
    await once(client, 'connect');
    onTestFinished(() => { client.destroy(); });

    const probe = new ProcProbe();
    const found = await probe.locate([path, join(dir, 'missing.sock')]);
    expect([...found.entries()]).toEqual([[path, child.pid]]);
    expect(probe.vcpuThreads(child.pid as number)).toEqual([]);
    expect(['R', 'S']).toContain(probe.sample(child.pid as number, []).state);

    // Our own process holds the client end: never taken for the VMM.
    expect((await new ProcProbe({ selfPid: child.pid as number }).locate([path])).get(path)).toBeUndefined();

    process.kill(child.pid as number, 'SIGSTOP');
    await waitState(probe, child.pid as number, 'T');
    const tids = [child.pid as number];
    const s = probe.sample(child.pid as number, tids);
    expect(s).toMatchObject({ state: 'T', tidMissing: false });
    expect(s.cpuNs).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await waitState(probe, child.pid as number, 'gone');
    expect(probe.vcpuThreads(child.pid as number)).toBeUndefined();
  });
});

describe('[16.1] the -uuid fallback', () => {
  it('finds the process whose command line carries -uuid <the channel uuid> when no process holds the socket', async () => {
    const uuid = '0a0b0c0d-1111-2222-3333-444455556666';
    // As libvirt starts QEMU: `-uuid <domain uuid>`; here the listening socket is not in /proc/net/unix at all.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")', '--', '-uuid', uuid], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => { child.kill('SIGKILL'); });
    await once(child.stdout, 'data');
    const path = `/nonexistent/cgcs.heartbeat.${uuid}.sock`;
    const found = await new ProcProbe().locate([path, '/nonexistent/cgcs.heartbeat.99999999-1111-2222-3333-444455556666.sock']);
    expect([...found.entries()]).toEqual([[path, child.pid]]);
  });
});

async function waitState(probe: ProcProbe, pid: number, state: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (probe.sample(pid, []).state === state) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`state ${state} not seen`);
}

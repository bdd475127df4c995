#!/usr/bin/env node
/**
 * guest-client on a real virtio-serial port (issue 14 item 1), checked by hand: not part of CI, which uses a
 * pty (test/device-channel.test.ts). Needs what the e2e tests need (qemu-system-x86, busybox-static, the guest
 * kernel from .ci/setup.d/20-e2e-guest-kernel.sh) and a built repo (npm run build).
 *
 *   node packages/guest-client/scripts/vm-check.mjs
 *
 * It bundles dist/bin.js with rolldown, packs it with this node binary, its libraries, busybox and the virtio
 * modules into an initramfs, boots QEMU (TCG) with the heartbeat port as libvirt creates it, and plays the
 * host: init_ack and 3 challenges, then the host end goes away for 4 s (the client must go disabled), comes
 * back (the client must re-init), 2 challenges, then silence. The guest's /init sends SIGTERM to the client
 * 3 s into the silence and prints its exit status and stop time. Prints PASS or FAIL.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const KERNEL_DIR = process.env['E2E_KERNEL_DIR'] ?? join(REPO, '.cache/e2e/kernel');
const MODULES = ['virtio/virtio_ring', 'virtio/virtio', 'virtio/virtio_pci_modern_dev', 'virtio/virtio_pci_legacy_dev', 'virtio/virtio_pci', 'char/virtio_console'];

const INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${MODULES.map((m) => m.split('/')[1]).join(' ')}; do insmod /lib/modules/$m.ko; done
sleep 1
for d in /sys/class/virtio-ports/vport*; do [ "$(cat $d/name)" = cgcs.heartbeat ] && P=/dev/$(basename $d); done
mkdir -p /dev/virtio-ports && ln -sf $P /dev/virtio-ports/cgcs.heartbeat
echo "VMTEST port $P sysfs $(readlink /sys/dev/char/$(cat /sys/class/virtio-ports/$(basename $P)/dev))"
: > /tmp/gc.log
/usr/bin/node /gc/gc.mjs --device /dev/virtio-ports/cgcs.heartbeat --name vm1 --no-app-api --config /gc/conf --log-level info > /tmp/gc.log 2>&1 &
GC=$!
tail -f /tmp/gc.log &
N=0
while [ "$N" -lt 2 ]; do sleep 0.2; N=$(grep -c '"from":"enabling","to":"enabled"' /tmp/gc.log); done
sleep 4
T0=$(cut -d' ' -f1 /proc/uptime)
kill -TERM $GC
wait $GC; RC=$?
T1=$(cut -d' ' -f1 /proc/uptime)
echo "VMTEST exit rc=$RC t0=$T0 t1=$T1"
sleep 1
poweroff -f
`;

function buildInitrd(work) {
  const root = join(work, 'root');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp', 'lib/modules', 'usr/bin', 'gc']) mkdirSync(join(root, d), { recursive: true });
  const version = readdirSync(join(KERNEL_DIR, 'lib/modules'))[0];
  for (const m of MODULES) copyFileSync(join(KERNEL_DIR, 'lib/modules', version, 'kernel/drivers', `${m}.ko`), join(root, 'lib/modules', `${m.split('/')[1]}.ko`));
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  symlinkSync('busybox', join(root, 'bin/sh'));
  copyFileSync(process.execPath, join(root, 'usr/bin/node'));
  chmodSync(join(root, 'usr/bin/node'), 0o755);
  for (const lib of execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).match(/\/[^\s]+\.so[^\s]*/g) ?? []) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  execFileSync(join(REPO, 'node_modules/.bin/rolldown'), [join(REPO, 'packages/guest-client/dist/bin.js'), '--platform', 'node', '--format', 'esm', '--file', join(root, 'gc/gc.mjs')], { stdio: 'ignore' });
  writeFileSync(join(root, 'gc/conf'), 'CORRECTIVE_ACTION=log\n');
  writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
  const list = execFileSync('find', ['.'], { cwd: root, encoding: 'utf8' });
  const cpio = execFileSync('/bin/busybox', ['cpio', '-o', '-H', 'newc'], { cwd: root, input: list, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
  writeFileSync(join(work, 'initrd.cpio'), cpio);
  return join(work, 'initrd.cpio');
}

/** The host end: records what it saw in `seen`, in seconds since boot started. */
function playHost(sock, t0, seen) {
  const at = () => (performance.now() - t0) / 1000;
  const note = (what) => { seen.push({ at: at(), what }); console.log(`${at().toFixed(2)} s  ${what}`); };
  let phase = 1;
  let seq = 0;
  let challenge = 100;
  return new Promise((done) => {
    const connect = () => {
      const s = createConnection(sock);
      let carry = '';
      const send = (o) => s.write(`\n${JSON.stringify({ version: 3, revision: 1, ...o, sequence: ++seq })}\n`);
      let responses = 0;
      s.on('connect', () => note(`host end connected (phase ${phase})`));
      s.on('error', () => undefined);
      s.on('close', () => { if (phase === 3) done(seen); });
      s.on('data', (chunk) => {
        const lines = (carry + chunk.toString()).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim() !== '')) {
          let m;
          try { m = JSON.parse(line); } catch { continue; }
          note(`guest: ${m.msg_type}`);
          if (m.msg_type === 'init') {
            send({ msg_type: 'init_ack', invocation_id: m.invocation_id });
            send({ msg_type: 'challenge', heartbeat_challenge: ++challenge });
          } else if (m.msg_type === 'challenge_response') {
            responses++;
            if (phase === 1 && responses >= 3) {
              phase = 2;
              note('host end goes away for 4 s');
              s.destroy();
              setTimeout(connect, 4000);
              return;
            }
            if (phase === 2 && responses >= 2) {
              phase = 3;
              note('host silent from now on');
              continue;
            }
            setTimeout(() => send({ msg_type: 'challenge', heartbeat_challenge: ++challenge }), 1000);
          }
        }
      });
    };
    connect();
  });
}

const work = mkdtempSync(join(tmpdir(), 'gc-vm-'));
try {
  const initrd = buildInitrd(work);
  const sock = join(work, 'hb.sock');
  const consolePath = join(work, 'console.log');
  const t0 = performance.now();
  const qemu = spawn('qemu-system-x86_64', [
    '-machine', 'pc', '-accel', 'tcg', '-m', '1024', '-smp', '1', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', join(KERNEL_DIR, 'vmlinuz'), '-initrd', initrd, '-append', 'console=ttyS0 panic=-1 quiet',
    '-serial', `file:${consolePath}`, '-device', 'virtio-serial',
    '-chardev', `socket,id=hb,path=${sock},server=on,wait=off`, '-device', 'virtserialport,chardev=hb,name=cgcs.heartbeat',
  ], { stdio: 'ignore' });
  const killer = setTimeout(() => qemu.kill('SIGKILL'), 120_000);
  await new Promise((r) => setTimeout(r, 1000));
  const seen = [];
  void playHost(sock, t0, seen);
  await new Promise((r) => qemu.once('exit', r));
  clearTimeout(killer);
  const consoleText = readFileSync(consolePath, 'utf8');
  const logs = consoleText.split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  const states = logs.filter((l) => l.msg === 'heartbeat state change').map((l) => `${l.from}->${l.to}`);
  const exit = /VMTEST exit rc=(\d+) t0=([\d.]+) t1=([\d.]+)/.exec(consoleText);
  const port = /VMTEST port (\S+) sysfs (\S+)/.exec(consoleText);
  const stopMs = exit === null ? NaN : Math.round((Number(exit[3]) - Number(exit[2])) * 1000);
  console.log(`port: ${port?.[1]} (${port?.[2]})`);
  console.log(`client states: ${states.join(', ')}`);
  console.log(`SIGTERM with the host silent: exit status ${exit?.[1]}, stopped in ${stopMs} ms (deadline 5000 ms)`);
  const checks = {
    'disabled when the host end went away': states.includes('enabled->disabled'),
    're-init when the host end came back': states.includes('disabled->enabling') && states.filter((s) => s === 'enabling->enabled').length === 2,
    'exit message sent': seen.some((e) => e.what === 'guest: exit'),
    'exit status 0 within the deadline': exit?.[1] === '0' && stopMs < 5000,
  };
  for (const [what, ok] of Object.entries(checks)) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  console.log(Object.values(checks).every(Boolean) ? 'PASS' : 'FAIL');
  process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

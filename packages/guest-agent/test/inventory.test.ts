/** Inventory update rules (daemons §6.2) and the vote/notify timeout table (daemons §8.2), by value. */
import { describe, expect, it } from 'vitest';
import { actionTimeout, guestInfoPatch, Inventory } from '../src/index.js';
import { FakeServer } from './helpers/fake-server.js';

const H0 = '11111111-1111-1111-1111-111111111111';
const H1 = '22222222-1111-1111-1111-111111111111';
const U = '33333333-3333-3333-3333-333333333333';

function twoHosts(): Inventory {
  const inv = new Inventory({ maxHosts: 3, maxInstances: 2 });
  inv.addHost(H0, 'compute-0');
  inv.addHost(H1, 'compute-1');
  return inv;
}

describe('Inventory', () => {
  it('add_inst: new → ADD with reporting; same host → unchanged unless a reporting is given; other host → DEL there, ADD here', () => {
    const inv = twoHosts();
    expect(inv.addInstance('compute-0', U, undefined)).toEqual({ ok: true, commands: [{ type: 'put-instance', hostname: 'compute-0', uuid: U, reporting: 'disabled' }] });
    expect(inv.instance(U)).toMatchObject({ reporting: false, heartbeating: false, correctiveAction: 'log', timeouts: { vote: '0', restart: '0' } });
    expect(inv.addInstance('compute-0', U, undefined)).toEqual({ ok: true, commands: [] });
    expect(inv.addInstance('compute-0', U, true)).toEqual({ ok: true, commands: [{ type: 'put-instance', hostname: 'compute-0', uuid: U, reporting: 'enabled' }] });
    expect(inv.addInstance('compute-1', U, true)).toEqual({ ok: true, commands: [
      { type: 'delete-instance', hostname: 'compute-0', uuid: U },
      { type: 'put-instance', hostname: 'compute-1', uuid: U, reporting: 'enabled' },
    ] });
    expect(inv.instancesOn('compute-0')).toEqual([]);
    expect(inv.addInstance('compute-9', U, true)).toEqual({ ok: false, reason: 'unknown-host' });
  });

  it('mod_inst always tells the server; del_inst removes from whichever host holds it', () => {
    const inv = twoHosts();
    inv.addInstance('compute-0', U, false);
    expect(inv.modInstance('compute-0', U, false).ok && inv.modInstance('compute-0', U, false)).toEqual({ ok: true, commands: [{ type: 'put-instance', hostname: 'compute-0', uuid: U, reporting: 'disabled' }] });
    expect(inv.deleteInstance(U)).toEqual([{ type: 'delete-instance', hostname: 'compute-0', uuid: U }]);
    expect(inv.deleteInstance(U)).toBeUndefined();
  });

  it('is bounded: hosts, instances and servers', () => {
    const inv = twoHosts();
    expect(inv.addHost('33333333-1111-1111-1111-111111111111', 'compute-2')).toBe('created');
    expect(inv.addHost('44444444-1111-1111-1111-111111111111', 'compute-3')).toBe('full');
    expect(inv.addHost('55555555-1111-1111-1111-111111111111', 'compute-0')).toBe('updated');
    expect(inv.hostByUuidOrName('55555555-1111-1111-1111-111111111111')?.hostname).toBe('compute-0');
    inv.addInstance('compute-0', 'a'.repeat(36), false);
    inv.addInstance('compute-0', 'b'.repeat(36), false);
    expect(inv.addInstance('compute-0', 'c'.repeat(36), false)).toEqual({ ok: false, reason: 'full' });
    for (const name of ['s1', 's2', 's3']) expect(inv.registerServer(name, 'http://127.0.0.1:1', 'b', 0)).toBe('new');
    expect(inv.registerServer('s4', 'http://127.0.0.1:1', 'b', 0)).toBe('full');
    expect(inv.registerServer('s1', 'http://127.0.0.1:1', 'b', 5)).toBe('same');
    expect(inv.server('s1')?.lastContactMs).toBe(5);
    expect(inv.registerServer('s1', 'http://127.0.0.1:2', 'b', 6)).toBe('restarted');
  });

  it('vote/notify timeouts per event, resize included; "0" when not heartbeating or unknown', () => {
    const inv = twoHosts();
    inv.addInstance('compute-0', U, true);
    const added = inv.instance(U);
    if (added === undefined) throw new Error('missing');
    const idle = inv.updateInstance(added, guestInfoPatch(new FakeServer('compute-0').info(U, { 'vote-to': '1', 'shutdown-to': '2', 'suspend-to': '3', 'resume-to': '4', 'restart-to': '5' })));
    expect(actionTimeout(idle, 'vote', 'stop')).toBe('0');
    const inst = inv.updateInstance(idle, { heartbeating: true });
    const table: [string, string][] = [
      ['stop', '2'], ['reboot', '2'], ['pause', '3'], ['suspend', '3'], ['live_migrate_begin', '3'], ['cold_migrate_begin', '3'], ['resize_begin', '3'],
      ['unpause', '4'], ['resume', '4'], ['live_migrate_end', '4'], ['cold_migrate_end', '4'], ['resize_end', '4'], ['unknown', '0'], ['downscale', '0'],
    ];
    for (const [event, timeout] of table) expect([event, actionTimeout(inst, 'notify', event)]).toEqual([event, timeout]);
    expect(actionTimeout(inst, 'vote', 'resize_begin')).toBe('1');
  });
});

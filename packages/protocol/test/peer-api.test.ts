/** The guest-server ↔ guest-agent HTTP API (DESIGN.md §3): valid and invalid bodies of every schema. */
import { describe, expect, it } from 'vitest';
import {
  ActionAcceptedSchema, ActionCommandSchema, EventAckSchema, EventBatchSchema, HostReportingCommandSchema,
  IllHealthEventSchema, InstanceInfoSchema, InstanceQueryReplySchema, InstanceStateCommandSchema, InstanceUuidSchema,
  LossEventSchema, MAX_EVENTS_PER_BATCH, PeerErrorBodySchema, PeerEventSchema, PeerPath, RunningEventSchema,
  ServerReadyEventSchema, StoppedEventSchema, VoteResultEventSchema, type InstanceInfo, type PeerEvent,
} from '../src/index.js';

const UUID = '5b2ad3e4-1f7c-4c8e-9f3a-0a1b2c3d4e5f';
const INFO: InstanceInfo = {
  hostname: 'compute-0', uuid: UUID, reporting: 'enabled', heartbeating: 'enabled', 'repair-action': 'reboot',
  'restart-to': '601', 'shutdown-to': '9', 'suspend-to': '9', 'resume-to': '14', 'vote-to': '9',
};
const HEAD = { id: 'compute-0:1', hostname: 'compute-0', atMs: 1_700_000_000_000 };
const EVENTS: readonly PeerEvent[] = [
  { ...HEAD, kind: 'server-ready', url: 'http://192.168.204.5:2411', bootId: 'b-1' },
  { ...HEAD, kind: 'running', instance: INFO },
  { ...HEAD, kind: 'stopped', instance: { ...INFO, heartbeating: 'disabled' }, reason: 'exit' },
  { ...HEAD, kind: 'ill-health', instance: INFO, logMsg: 'File /tmp/unhealthy exists. ' },
  { ...HEAD, kind: 'loss', uuid: UUID, correctiveAction: 'reboot' },
  { ...HEAD, kind: 'vote-result', uuid: UUID, notificationType: 'revocable', eventType: 'stop', vote: 'reject', reason: 'File /tmp/vote_no_to_stop exists. ' },
];

describe('PeerPath', () => {
  it('builds the instance paths and escapes the uuid', () => {
    expect(PeerPath.instance(UUID)).toBe(`/v1/instances/${UUID}`);
    expect(PeerPath.vote(UUID)).toBe(`/v1/instances/${UUID}/vote`);
    expect(PeerPath.notify(UUID)).toBe(`/v1/instances/${UUID}/notify`);
    expect(PeerPath.instance('a/b')).toBe('/v1/instances/a%2Fb');
    expect([PeerPath.EVENTS, PeerPath.INSTANCES, PeerPath.HOST, PeerPath.ANNOUNCE]).toEqual(['/v1/events', '/v1/instances', '/v1/host', '/v1/announce']);
  });
});

describe('InstanceUuidSchema (daemons §1.1: 36 characters)', () => {
  it('accepts 36 characters without "/", "." or blanks', () => {
    expect(InstanceUuidSchema.parse(UUID)).toBe(UUID);
  });

  it.each([[UUID.slice(1)], [`${UUID}0`], [`${UUID.slice(0, 35)}/`], [`${UUID.slice(0, 35)}.`], [`${UUID.slice(0, 35)} `], [5]])('refuses %j', (value) => {
    expect(InstanceUuidSchema.safeParse(value).success).toBe(false);
  });
});

describe('InstanceInfoSchema (daemons §3.6 keys)', () => {
  it('accepts the instance-info of the original', () => {
    expect(InstanceInfoSchema.parse(INFO)).toEqual(INFO);
  });

  it.each([
    ['reporting', 'on'], ['heartbeating', true], ['repair-action', 'explode'], ['restart-to', 601], ['vote-to', '9.5'],
    ['vote-to', ''], ['shutdown-to', '12345678901'], ['hostname', ''], ['hostname', 'h'.repeat(256)],
  ])('refuses %s = %j', (key, value) => {
    expect(InstanceInfoSchema.safeParse({ ...INFO, [key]: value }).success).toBe(false);
  });

  it('accepts a negative seconds text (the original prints ints)', () => {
    expect(InstanceInfoSchema.safeParse({ ...INFO, 'vote-to': '-1' }).success).toBe(true);
  });
});

describe('events', () => {
  it.each(EVENTS.map((event) => [event.kind, event] as const))('accepts a %s event', (_kind, event) => {
    expect(PeerEventSchema.parse(event)).toEqual(event);
  });

  it('routes each kind to its own schema', () => {
    const schemas = [ServerReadyEventSchema, RunningEventSchema, StoppedEventSchema, IllHealthEventSchema, LossEventSchema, VoteResultEventSchema];
    EVENTS.forEach((event, i) => expect(schemas[i]?.parse(event)).toEqual(event));
  });

  it.each([
    ['an unknown kind', { ...HEAD, kind: 'exploded', uuid: UUID }],
    ['an empty id', { ...EVENTS[4], id: '' }],
    ['an id over 128 characters', { ...EVENTS[4], id: 'i'.repeat(129) }],
    ['a negative atMs', { ...EVENTS[4], atMs: -1 }],
    ['a fractional atMs', { ...EVENTS[4], atMs: 1.5 }],
    ['a server-ready without a URL', { ...EVENTS[0], url: 'not a url' }],
    ['a server-ready with an empty bootId', { ...EVENTS[0], bootId: '' }],
    ['a running event without instance', { ...HEAD, kind: 'running' }],
    ['a stopped event with an unknown reason', { ...EVENTS[2], reason: 'bored' }],
    ['an ill-health logMsg over 256 characters', { ...EVENTS[3], logMsg: 'x'.repeat(257) }],
    ['a loss with a short uuid', { ...EVENTS[4], uuid: 'abc' }],
    ['a loss with an unknown action', { ...EVENTS[4], correctiveAction: 'explode' }],
    ['a vote-result with an unknown vote', { ...EVENTS[5], vote: 'abstain' }],
    ['a vote-result with an unknown event', { ...EVENTS[5], eventType: 'teleport' }],
    ['a vote-result reason over 256 characters', { ...EVENTS[5], reason: 'r'.repeat(257) }],
  ])('refuses %s', (_label, event) => {
    expect(PeerEventSchema.safeParse(event).success).toBe(false);
  });

  it.each(['loss', 'exit', 'disconnect', 'reporting-disabled', 'suspend', 'channel-removed', 'deleted', 'reinit', 'shutdown'])(
    'accepts stop reason %s',
    (reason) => {
      expect(StoppedEventSchema.safeParse({ ...EVENTS[2], reason }).success).toBe(true);
    },
  );
});

describe('EventBatchSchema and EventAckSchema', () => {
  it('accepts 1 to 100 events in order', () => {
    expect(EventBatchSchema.parse({ events: EVENTS }).events.map((e) => e.kind)).toEqual(EVENTS.map((e) => e.kind));
    const full = Array.from({ length: MAX_EVENTS_PER_BATCH }, (_, i) => ({ ...EVENTS[4], id: `e${i}` }));
    expect(EventBatchSchema.safeParse({ events: full }).success).toBe(true);
  });

  it('refuses an empty batch, more than 100 events, or one bad event', () => {
    expect(EventBatchSchema.safeParse({ events: [] }).success).toBe(false);
    const over = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, (_, i) => ({ ...EVENTS[4], id: `e${i}` }));
    expect(EventBatchSchema.safeParse({ events: over }).success).toBe(false);
    expect(EventBatchSchema.safeParse({ events: [EVENTS[0], { kind: 'loss' }] }).success).toBe(false);
    expect(EventBatchSchema.safeParse({}).success).toBe(false);
  });

  it('acks ids, with an optional reannounce flag', () => {
    expect(EventAckSchema.parse({ acked: ['a', 'b'] })).toEqual({ acked: ['a', 'b'] });
    expect(EventAckSchema.parse({ acked: [], reannounce: true })).toEqual({ acked: [], reannounce: true });
    expect(EventAckSchema.safeParse({ acked: [1] }).success).toBe(false);
    expect(EventAckSchema.safeParse({ acked: [], reannounce: 'yes' }).success).toBe(false);
  });
});

describe('commands (daemons §3.5)', () => {
  it('accepts reporting enabled/disabled for an instance and for the host', () => {
    for (const reporting of ['enabled', 'disabled']) {
      expect(InstanceStateCommandSchema.parse({ reporting })).toEqual({ reporting });
      expect(HostReportingCommandSchema.parse({ reporting })).toEqual({ reporting });
    }
    expect(InstanceStateCommandSchema.safeParse({ reporting: 'enable' }).success).toBe(false);
    expect(HostReportingCommandSchema.safeParse({}).success).toBe(false);
  });

  it('accepts a vote or notify of a known event and refuses others', () => {
    expect(ActionCommandSchema.parse({ event: 'live_migrate_begin' })).toEqual({ event: 'live_migrate_begin' });
    expect(ActionCommandSchema.safeParse({ event: 'teleport' }).success).toBe(false);
    expect(ActionCommandSchema.safeParse({ action: 'stop' }).success).toBe(false);
  });

  it('describes an accepted action with a non-negative integer timeout', () => {
    const accepted = { uuid: UUID, event: 'stop', notificationType: 'revocable', timeoutMs: 9000 };
    expect(ActionAcceptedSchema.parse(accepted)).toEqual(accepted);
    expect(ActionAcceptedSchema.safeParse({ ...accepted, timeoutMs: -1 }).success).toBe(false);
    expect(ActionAcceptedSchema.safeParse({ ...accepted, notificationType: 'unknown' }).success).toBe(false);
  });

  it('answers a query with identity, host reporting and every instance', () => {
    const reply = { hostname: 'compute-0', url: 'http://127.0.0.1:2411', bootId: 'b-1', hostReporting: 'enabled', instances: [INFO] };
    expect(InstanceQueryReplySchema.parse(reply)).toEqual(reply);
    expect(InstanceQueryReplySchema.safeParse({ ...reply, instances: [{ ...INFO, uuid: 'x' }] }).success).toBe(false);
    expect(InstanceQueryReplySchema.safeParse({ ...reply, url: '' }).success).toBe(false);
  });

  it('has one error body with a code and a message', () => {
    expect(PeerErrorBodySchema.parse({ code: 'GS_ERR_NOT_FOUND', message: 'no such instance' })).toEqual({ code: 'GS_ERR_NOT_FOUND', message: 'no such instance' });
    expect(PeerErrorBodySchema.safeParse({ code: 404 }).success).toBe(false);
  });
});

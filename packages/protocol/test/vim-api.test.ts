/** The VIM REST bodies (vim §1–2, daemons §4–5): exact texts and the reply schemas. */
import { describe, expect, it } from 'vitest';
import {
  escapeVimReason, VimActionBodySchema, VimEventPath, VimHostInstancesReplySchema, VimHostStateReplySchema, VimInstanceBodySchema,
  vimActionEventText, vimActionReplyText, vimAlarmText, vimErrorText, vimHostQueryText, vimHostStateText, vimPassText,
  vimServiceEventText, vimServicesText, VIM_ERROR_REASONS,
} from '../src/index.js';

const U = '33333333-3333-3333-3333-333333333333';
const H = '11111111-1111-1111-1111-111111111111';

describe('command channel texts (daemons §4.1–4.2)', () => {
  it('pass, host state, services document and action reply are the original bytes', () => {
    expect(vimPassText(true)).toBe(' { "status" : "pass" }');
    expect(vimPassText(false)).toBe('{ "status" : "pass" }');
    expect(vimHostStateText(H, 'compute-0', 'enabled')).toBe(`{"uuid":"${H}","hostname":"compute-0","state":"enabled"}`);
    expect(vimServicesText(U, 'compute-0', 'enabled', 'disabled', '0')).toBe(
      `{"uuid":"${U}","hostname":"compute-0","services": [{ "service":"heartbeat","state":"enabled","restart-timeout":"0","status":"disabled"}]}`,
    );
    expect(vimActionReplyText(U, 'compute-0', 'stop', '10')).toBe(`{"uuid":"${U}","hostname":"compute-0","action":"stop","timeout":"10"}`);
  });

  it('error texts are the original JSON for each reason', () => {
    expect(vimErrorText('entity not found')).toBe('{ "status" : "fail","reason" : "entity not found"}');
    for (const reason of VIM_ERROR_REASONS) expect(JSON.parse(vimErrorText(reason))).toEqual({ status: 'fail', reason });
  });

  it('request schemas accept the VIM\'s bodies and strip unknown keys', () => {
    expect(VimInstanceBodySchema.parse({ uuid: U, hostname: 'compute-0', services: ['heartbeat'], channel: 'x' })).toEqual({ uuid: U, hostname: 'compute-0', services: ['heartbeat'] });
    expect(VimActionBodySchema.safeParse({ uuid: U, hostname: 'compute-0' }).success).toBe(false);
  });
});

describe('event channel texts (daemons §5.3)', () => {
  it('paths', () => {
    expect(VimEventPath.host(H)).toBe(`/nfvi-plugins/v1/hosts/${H}`);
    expect(VimEventPath.hostInstances(H)).toBe(`/nfvi-plugins/v1/instances/?host_uuid=${H}`);
    expect(VimEventPath.instance(U)).toBe(`/nfvi-plugins/v1/instances/${U}`);
  });

  it('host query, alarm, service and action bodies are the original bytes', () => {
    expect(vimHostQueryText('compute-0', H)).toBe(`{"hostname": "compute-0","uuid":"${H}"}`);
    expect(vimAlarmText(U, 'compute-0', 'failed', 'reboot')).toBe(
      `{"uuid":"${U}","hostname":"compute-0","event-type":"alarm","event-data":{"services":[{"service":"heartbeat","state":"failed","repair-action":"reboot"}]}}`,
    );
    expect(vimServiceEventText(U, 'compute-0', 'enabled', 'disabled', '0')).toBe(
      `{"uuid":"${U}","hostname":"compute-0","event-type":"service","event-data":{"services":[{"service":"heartbeat","state":"enabled","status":"disabled","restart-timeout":"0"}]}}`,
    );
    expect(vimActionEventText(U, 'stop', 'reject', 'no')).toBe(
      `{"uuid":"${U}","event-type": "action","event-data": {"action": "stop", "guest-response": "reject", "reason": "no"}}`,
    );
  });

  it('escapes the reason as the original (\\ " / and control characters) and stays valid JSON', () => {
    expect(escapeVimReason('a/b "c" \\ \n\t\r\b\f')).toBe('a\\/b \\"c\\" \\\\ \\n\\t\\r\\b\\f');
    const text = vimActionEventText(U, 'stop', 'allow', 'path /x "q"\u0001');
    expect(JSON.parse(text)).toEqual({ uuid: U, 'event-type': 'action', 'event-data': { action: 'stop', 'guest-response': 'allow', reason: 'path /x "q"\u0001' } });
  });

  it('reply schemas: host state tolerant, instance list strict about heartbeat and the instances key', () => {
    expect(VimHostStateReplySchema.parse({ uuid: H, hostname: 'compute-0', state: 'enabled' }).state).toBe('enabled');
    expect(VimHostStateReplySchema.safeParse({}).success).toBe(true);
    expect(VimHostInstancesReplySchema.safeParse({ instances: [] }).success).toBe(true);
    expect(VimHostInstancesReplySchema.safeParse({}).success).toBe(false);
    expect(VimHostInstancesReplySchema.safeParse({ instances: [{ uuid: U, services: [{ service: 'other', state: 'enabled' }] }] }).success).toBe(false);
  });
});

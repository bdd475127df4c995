import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_URL, parseGuestctlArgs } from '../src/cli-args.js';
import type { GuestctlError } from '../src/errors.js';
import { ExitCode } from '../src/errors.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseGuestctlArgs(argv, env);

function usageError(argv: string[]): GuestctlError {
  try {
    parse(argv);
  } catch (err) {
    return err as GuestctlError;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('guestctl command line', () => {
  it('takes defaults, then the environment, then flags', () => {
    expect(parse(['hosts'])).toMatchObject({ agentUrl: DEFAULT_AGENT_URL, format: 'table', tokenFile: undefined, command: { name: 'hosts' } });
    const env = { GUESTCTL_AGENT_URL: 'http://10.0.0.1:2401/', GUESTCTL_TOKEN_FILE: '/etc/t' };
    expect(parse(['hosts'], env)).toMatchObject({ agentUrl: 'http://10.0.0.1:2401', tokenFile: '/etc/t' });
    expect(parse(['--agent', 'http://h:1', '--token-file', '/x', '-f', 'json', 'hosts'], env)).toMatchObject({ agentUrl: 'http://h:1', tokenFile: '/x', format: 'json' });
  });

  it('parses every command with its arguments', () => {
    expect(parse(['instances', '--host', 'compute-0', '--state', 'failed']).command).toEqual({ name: 'instances', host: 'compute-0', state: 'failed' });
    expect(parse(['show', 'vm-1']).command).toEqual({ name: 'show', key: 'vm-1' });
    expect(parse(['events', '--follow']).command).toEqual({ name: 'events', follow: true });
    expect(parse(['vote', 'u', 'stop', '--hostname', 'c0']).command).toEqual({ name: 'vote', uuid: 'u', action: 'stop', hostname: 'c0' });
    expect(parse(['notify', 'u', 'reboot']).command).toEqual({ name: 'notify', uuid: 'u', action: 'reboot', hostname: undefined });
    expect(parse(['-c', 'uuid', '-c', 'state', 'instances']).columns).toEqual(['uuid', 'state']);
    expect(parse(['--help']).command).toEqual({ name: 'help' });
    expect(parse(['--version']).command).toEqual({ name: 'version' });
  });

  it.each([
    [[], 'no command'],
    [['frob'], "unknown command 'frob'"],
    [['show'], 'show <uuid|name>'],
    [['vote', 'u'], 'vote <uuid> <action>'],
    [['instances', '--state', 'sad'], '--state: expected one of'],
    [['-f', 'yaml', 'hosts'], '--format'],
    [['--bogus', 'hosts'], 'bogus'],
    [['--timeout-ms', '0', 'hosts'], '--timeout-ms'],
  ])('refuses %j with exit code 2', (argv, text) => {
    const err = usageError(argv);
    expect(err.exitCode).toBe(ExitCode.USAGE);
    expect(err.message).toContain(text);
  });
});

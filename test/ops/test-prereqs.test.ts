/**
 * Issue 15: `npm test` provisions what the suite needs (scripts/test-prereqs.sh, its pretest step) or stops
 * at once with the reason and the remedy. Run here with a package list and a set-up directory of the test's
 * own, as root (packages present: nothing to do) and as an unprivileged user (a package missing: refused).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../helpers/demo-fleet.js';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'scripts/test-prereqs.sh');

async function fixture(packages: string[], setup: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ghb-prereqs-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'packages.txt'), `# test list\n${packages.join('\n')}\n`);
  await writeFile(join(dir, '10-step.sh'), setup);
  await chmod(join(dir, 'packages.txt'), 0o644);
  return { ...process.env, GUESTHB_APT_PACKAGES: join(dir, 'packages.txt'), GUESTHB_SETUP_DIR: dir } as Record<string, string>;
}

async function exec(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const r = await run(command, args, { env, cwd: REPO_ROOT });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('npm test prerequisites (scripts/test-prereqs.sh)', () => {
  it('with every package present, runs the set-up scripts (as CI does) and passes', async () => {
    const env = await fixture(['bash', 'coreutils'], 'echo "step ran"\n');
    expect(await exec('bash', [SCRIPT], env)).toEqual({ code: 0, out: 'step ran\n' });
  });

  it('a failing set-up script stops it with the reason and the remedy', async () => {
    const env = await fixture(['bash'], 'echo "mirror unreachable" >&2; exit 3\n');
    const r = await exec('bash', [SCRIPT], env);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/reason: set-up script \S+10-step\.sh failed: mirror unreachable/);
    expect(r.out).toMatch(/remedy: run bash \S+10-step\.sh/);
  });

  it('not root and a package missing: stops at once, naming the package and the apt-get line', async () => {
    const env = await fixture(['bash', 'guesthb-no-such-package'], 'echo "must not run"\n');
    const started = performance.now();
    if (process.getuid?.() === 0) {
      // As root the test becomes an unprivileged user without sudo (CI runs as root).
      const r = await exec('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'bash', SCRIPT], env);
      expect(r.code).toBe(1);
      expect(r.out).toContain('reason: missing Debian packages: guesthb-no-such-package, and this user is not root and has no password-less sudo');
      expect(r.out).toContain('remedy: sudo apt-get install -y --no-install-recommends guesthb-no-such-package');
      expect(r.out).not.toContain('must not run');
    } else {
      // Already unprivileged: refused for want of sudo, or (password-less sudo) apt-get cannot find the package.
      const r = await exec('bash', [SCRIPT], env);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/reason: (missing Debian packages|apt-get install) guesthb-no-such-package|reason: missing Debian packages: guesthb-no-such-package/);
      expect(r.out).toMatch(/remedy: .*apt-get install -y .*guesthb-no-such-package/);
      expect(r.out).not.toContain('must not run');
    }
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('GUESTHB_SKIP_PREREQS=1 skips everything', async () => {
    const env = await fixture(['guesthb-no-such-package'], 'echo "must not run"\n');
    expect(await exec('bash', [SCRIPT], { ...env, GUESTHB_SKIP_PREREQS: '1' })).toEqual({ code: 0, out: '' });
  });
});

// Copies the production runtime of the shipped daemons into a staging directory, for scripts/pack.sh:
//   <stage>/node_modules/@guesthb/<pkg>/{package.json,dist,README.md,ui}   the workspace packages (real copies)
//   <stage>/node_modules/<dep>/...                                     their production dependency closure
// The closure is computed from package-lock.json with Node's lookup rule and copied from the installed
// node_modules (what `npm ci` put there), so packing needs no network and ships exactly the locked versions.
// Usage: node scripts/stage-runtime.mjs <stage-dir> <workspace-dir>...
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve as resolvePath, sep } from 'node:path';
import process from 'node:process';

const repo = join(import.meta.dirname, '..');
const [stage, ...roots] = process.argv.slice(2);
if (stage === undefined || roots.length === 0) {
  process.stderr.write('usage: stage-runtime.mjs <stage-dir> <workspace-dir>...\n');
  process.exit(64);
}

const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
/** @type {Record<string, any>} lock path ('node_modules/x', 'packages/y') → entry */
const entries = lock.packages;

/** Lock path of `name` as seen from the package at `from`, following workspace links; null when absent. */
function resolve(from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    const entry = entries[candidate];
    if (entry !== undefined) return entry.link === true ? entry.resolved : candidate;
    if (base === '') return null;
    const cut = base.lastIndexOf('node_modules/');
    base = cut <= 0 ? '' : base.slice(0, cut - 1);
  }
}

const workspaces = new Map(); // lock path 'packages/x' → package name
const needed = new Set();
const queue = roots.map((dir) => relative(repo, resolvePath(dir)).split(sep).join('/'));
while (queue.length > 0) {
  const path = queue.shift();
  if (needed.has(path)) continue;
  const entry = entries[path];
  if (entry === undefined) throw new Error(`${path} is not in package-lock.json`);
  needed.add(path);
  if (!path.includes('node_modules/')) workspaces.set(path, entry.name ?? JSON.parse(readFileSync(join(repo, path, 'package.json'), 'utf8')).name);
  const optional = new Set(Object.keys(entry.optionalDependencies ?? {}));
  // Peers are needed unless marked optional; an optional peer ships only if a real dependency pulls it in.
  const peerMeta = entry.peerDependenciesMeta ?? {};
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => peerMeta[name]?.optional !== true);
  const names = [...Object.keys(entry.dependencies ?? {}), ...optional, ...peers];
  for (const name of new Set(names)) {
    const target = resolve(path, name);
    if (target === null || !existsSync(join(repo, target))) {
      if (optional.has(name)) continue; // e.g. another platform's native build
      throw new Error(`${path} needs ${name}, which is not installed: run npm ci first`);
    }
    queue.push(target);
  }
}

/** Where a lock path lands in the stage: workspace folders become node_modules/<their name>. */
function stagePath(path) {
  for (const [dir, name] of workspaces) {
    if (path === dir) return `node_modules/${name}`;
    if (path.startsWith(`${dir}/`)) return `node_modules/${name}/${path.slice(dir.length + 1)}`;
  }
  return path;
}

// Types, sources, source maps, docs, tests and examples are not needed at run time; dropping them halves
// the tarball and the file count (licence files stay).
const DEV_ONLY_FILE = /\.(?:d\.[cm]?ts|[cm]?ts|map|tsbuildinfo)$|^(?!licen[cs]e)[^/]*\.md$/i;
const DEV_ONLY_DIR = new Set(['test', 'tests', '__tests__', 'example', 'examples', 'docs', 'benchmark', 'benchmarks', 'bench', '.github']);

/** True for what a package needs at run time; `rel` is relative to the package root. */
function runtimeFile(rel) {
  const parts = rel.split(sep);
  if (parts.includes('node_modules') || parts.some((part) => DEV_ONLY_DIR.has(part))) return false;
  return !DEV_ONLY_FILE.test(parts.at(-1) ?? '');
}

let copied = 0;
for (const path of [...needed].sort()) {
  const from = join(repo, path);
  const to = join(stage, stagePath(path));
  mkdirSync(to, { recursive: true });
  if (workspaces.has(path)) {
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true, filter: (src) => runtimeFile(relative(from, src)) });
    if (existsSync(join(from, 'README.md'))) cpSync(join(from, 'README.md'), join(to, 'README.md'));
    // Static files served as they are (guest-agent's status page, issue 15).
    if (existsSync(join(from, 'ui'))) cpSync(join(from, 'ui'), join(to, 'ui'), { recursive: true });
  } else {
    // Nested node_modules are separate lock entries: copied only when the closure needs them.
    cpSync(from, to, { recursive: true, filter: (src) => runtimeFile(relative(from, src)) });
  }
  copied += 1;
}

const dependencies = Object.fromEntries([...workspaces.values()].sort().map((name) => [name, lock.version ?? '*']));
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify({ name: 'guesthb-runtime', version: lock.version, private: true, type: 'module', dependencies }, null, 2)}\n`,
);
process.stdout.write(`staged ${copied} packages (${workspaces.size} workspace) into ${stage}\n`);

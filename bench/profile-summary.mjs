#!/usr/bin/env node
// Summarises V8 CPU profiles (.cpuprofile, as written by `node --cpu-prof`): self time per function and
// per source file, as milliseconds and shares of the sampled time. Optionally only the samples inside a
// time window (--from-ms/--to-ms, relative to the profile's start), and per operation (--ops N divides).
//
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 30] [--from-ms A --to-ms B] [--ops N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, 'from-ms': { type: 'string' }, 'to-ms': { type: 'string' }, ops: { type: 'string' } },
});
if (positionals.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top 30] [--from-ms A --to-ms B] [--ops N]');
  process.exit(2);
}
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const from = values['from-ms'] === undefined ? -Infinity : Number(values['from-ms']) * 1000;
  const to = values['to-ms'] === undefined ? Infinity : Number(values['to-ms']) * 1000;
  const selfUs = new Map();
  let t = 0;
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) return;
    const node = byId.get(id);
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') { idle += dt; return; }
    total += dt;
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/)/, '$1').replace(/.*\/work\/[^/]+\//, '');
    const key = `${name} ${url}:${node.callFrame.lineNumber + 1}`;
    const fileKey = url || `(${name})`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    selfUs.set('FILE ' + fileKey, (selfUs.get('FILE ' + fileKey) ?? 0) + dt);
  });
  const ops = values.ops === undefined ? undefined : Number(values.ops);
  const fmt = (us) => `${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / total).toFixed(1).padStart(5)}%${ops ? ` ${(us / ops).toFixed(1).padStart(7)} µs/op` : ''}`;
  console.log(`${file}: busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
  const top = Number(values.top);
  const entries = [...selfUs.entries()].sort((a, b) => b[1] - a[1]);
  console.log('-- by file');
  for (const [k, v] of entries.filter(([k]) => k.startsWith('FILE ')).slice(0, top)) console.log(fmt(v), k.slice(5));
  console.log('-- by function');
  for (const [k, v] of entries.filter(([k]) => !k.startsWith('FILE ')).slice(0, top)) console.log(fmt(v), k);
}

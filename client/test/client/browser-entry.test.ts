// The browser entry point (src/browser.ts) must bundle for a browser: nothing reachable from it
// imports node:* or a package outside @noble/*, cborg and @peculiar/asn1-*; the Node transport is
// reachable only from the Node entry. Imports are followed transitively through our own files.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '../../src');

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
}

/** Every module reachable from `entry`: our files by path, packages by specifier. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('browser entry point', () => {
  it('reaches no node:* module and no package beyond @noble/*, cborg, @peculiar/asn1-*', () => {
    const { files, packages } = reachable(join(SRC, 'browser.ts'));
    expect(files.size).toBeGreaterThan(15);
    expect([...files].some((f) => f.endsWith('client/client.ts'))).toBe(true);
    expect([...files].filter((f) => /transport-node\.ts$|ledger\/files\.ts$|cli\//.test(f))).toEqual([]);
    const allowed = /^(@noble\/(hashes|curves)\/|cborg$|@peculiar\/asn1-(schema|x509)$)/;
    expect([...packages].filter((p) => !allowed.test(p))).toEqual([]);
  });

  it('the Node entry does reach node:https (the check above can see it)', () => {
    const { packages } = reachable(join(SRC, 'index.ts'));
    expect(packages.has('node:https')).toBe(true);
  });
});

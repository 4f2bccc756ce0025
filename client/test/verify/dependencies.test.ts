// The receipt verifier must stay readable alone and run in a browser: src/verify imports only
// @noble/*, cborg, @peculiar/asn1-* and its own files (plus ../errors.ts), and nothing in the
// client imports the node's code (the sandbox is loaded by a URL computed at run time).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
}

describe('dependency rules', () => {
  it('src/verify depends only on @noble/*, cborg, @peculiar/asn1-* and itself', () => {
    const allowed = /^(@noble\/(hashes|curves)\/|cborg$|@peculiar\/asn1-(schema|x509)$|\.\/[a-z0-9-]+\.ts$|\.\.\/errors\.ts$)/;
    const offending = sources(join(SRC, 'verify')).flatMap((f) => imports(f).filter((i) => !allowed.test(i)).map((i) => `${f}: ${i}`));
    expect(offending).toEqual([]);
  });

  it('no client source imports node/ or governance/', () => {
    const offending = sources(SRC).flatMap((f) => imports(f).filter((i) => /(^|\/)(node|governance)\//.test(i)).map((i) => `${f}: ${i}`));
    expect(offending).toEqual([]);
    expect(sources(SRC).length).toBeGreaterThan(20);
  });
});

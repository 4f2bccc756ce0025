// The same handlers with @microsoft/ccf-app swapped for @synod/app-sdk, and nothing else changed:
// what an app does when it switches imports.
import { expect, it, vi } from 'vitest';
import { describeCounterApp } from './scenario.ts';

vi.mock('@microsoft/ccf-app', () => import('../../../app-sdk/src/index.ts'));
vi.mock('@microsoft/ccf-app/crypto.js', () => import('../../../app-sdk/src/crypto.ts'));

describeCounterApp('@synod/app-sdk', async () => ({
  counters: await import('../src/endpoints/counters.ts'),
  notes: await import('../src/endpoints/notes.ts'),
  signing: await import('../src/endpoints/signing.ts'),
  service: await import('../src/endpoints/service.ts'),
}));

it('the swap took effect', async () => {
  const ccfapp = await import('@microsoft/ccf-app');
  const sdk = await import('../../../app-sdk/src/index.ts');
  expect(ccfapp.typedKv).toBe(sdk.typedKv);
  const crypto = await import('@microsoft/ccf-app/crypto.js');
  expect(crypto.digest).toBe((await import('../../../app-sdk/src/crypto.ts')).digest);
});

// The sample's handlers over the real @microsoft/ccf-app, on the polyfill.
import '../../../app-sdk/src/polyfill.ts'; // first: ccf-app reads globalThis.ccf when it loads
import { describeCounterApp } from './scenario.ts';

describeCounterApp('@microsoft/ccf-app', async () => ({
  counters: await import('../src/endpoints/counters.ts'),
  notes: await import('../src/endpoints/notes.ts'),
  signing: await import('../src/endpoints/signing.ts'),
  service: await import('../src/endpoints/service.ts'),
}));

// Child process for the kill -9 test: appends fake entries to a ledger folder as fast as it can, with
// group-committed flushes and commits, printing `durable <seqno>` each time a flush resolves, until killed.
// Usage: node --import tsx crash-child.ts <dir>

import { LedgerFiles } from './files.ts';
import { fakeEntry, isSignature } from './test-fixtures.ts';

const dir = process.argv[2]!;
const files = await LedgerFiles.open(dir, { chunkSizeBytes: 2048 });
let seqno = files.lastSeqno;
process.stdout.write(`ready ${seqno}\n`);
for (;;) {
  const burst = 1 + (seqno % 7);
  const flushes: Array<Promise<void>> = [];
  for (let i = 0; i < burst; i++) {
    seqno++;
    files.append(seqno, fakeEntry(seqno), isSignature(seqno));
    flushes.push(files.flush());
  }
  await Promise.all(flushes);
  process.stdout.write(`durable ${files.durableSeqno}\n`);
  if (seqno % 20 < burst) files.commit(seqno - 10);
}

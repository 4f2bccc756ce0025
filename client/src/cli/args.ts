// Small helpers the CLI commands share: usage errors and reading input files (a missing file is an I/O
// usage error naming what it was for).

import { readFileSync } from 'node:fs';
import { UsageError, UsageErrorCode } from '../errors.ts';

export function usage(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, message);
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

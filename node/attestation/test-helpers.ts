// Shared by the attestation tests: the stable code an action fails with, or a label when it succeeds.

import { AttestationError } from './errors.ts';

export function errorCodeOf(action: () => unknown, successLabel: string): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AttestationError) return error.code;
    throw error;
  }
  return successLabel;
}

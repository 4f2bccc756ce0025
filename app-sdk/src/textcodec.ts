// A minimal TextEncoder over ccf.strToBuf (ccf-app's textcodec module), for libraries that expect one:
// the sandbox has no TextEncoder of its own.

import { ccfGlobal } from './global.ts';

export type TextEncoderEncodeIntoResult = { read?: number; written?: number };

export class TextEncoder {
  readonly encoding = 'utf-8';

  encode(input = ''): Uint8Array {
    return new Uint8Array(ccfGlobal().strToBuf(String(input)));
  }

  /** Writes as many whole characters as fit into `output`. */
  encodeInto(input: string, output: Uint8Array): TextEncoderEncodeIntoResult {
    let read = 0;
    let written = 0;
    for (const char of String(input)) {
      const bytes = new Uint8Array(ccfGlobal().strToBuf(char));
      if (written + bytes.length > output.length) break;
      output.set(bytes, written);
      written += bytes.length;
      read += char.length;
    }
    return { read, written };
  }
}

// Byte flips of the signature and node certificate of the real CCF receipt doc-verify-tx-2.643.json. The suite, and
// why certificate bytes outside the key cannot matter without a service certificate, are in
// ../helpers/receipt-bytes-suite.ts.
import { receiptSignatureBytesSuite } from '../helpers/receipt-bytes-suite.ts';

receiptSignatureBytesSuite('doc-verify-tx-2.643.json');

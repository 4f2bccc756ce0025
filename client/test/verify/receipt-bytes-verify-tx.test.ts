// Byte flips of the signature of the real CCF receipt doc-verify-tx-2.643.json. The suite is in
// ../helpers/receipt-bytes-suite.ts.
import { receiptSignatureBytesSuite } from '../helpers/receipt-bytes-suite.ts';

receiptSignatureBytesSuite('doc-verify-tx-2.643.json');

// Byte flips of the signature of the real CCF receipt doc-audit-receipt.json. The suite is in
// ../helpers/receipt-bytes-suite.ts.
import { receiptSignatureBytesSuite } from '../helpers/receipt-bytes-suite.ts';

receiptSignatureBytesSuite('doc-audit-receipt.json');

// Byte flips of the signature and node certificate of the real CCF receipt doc-audit-receipt.json. The suite, and
// why certificate bytes outside the key cannot matter without a service certificate, are in
// ../helpers/receipt-bytes-suite.ts.
import { receiptSignatureBytesSuite } from '../helpers/receipt-bytes-suite.ts';

receiptSignatureBytesSuite('doc-audit-receipt.json');

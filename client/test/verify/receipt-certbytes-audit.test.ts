// Every byte of the node certificate of the real CCF receipt doc-audit-receipt.json, flipped (the suite is in
// ../helpers/receipt-bytes-suite.ts, which explains why this holds without a service certificate).
import { receiptCertificateBytesSuite } from '../helpers/receipt-bytes-suite.ts';

receiptCertificateBytesSuite('doc-audit-receipt.json');

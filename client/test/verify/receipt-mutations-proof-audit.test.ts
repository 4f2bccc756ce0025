// Exhaustive single-change tests (proof) on the real CCF receipt doc-audit-receipt.json; one file per receipt and part so
// that each file stays short on a busy machine. The suite is in ../helpers/receipt-mutation-suite.ts.
import { receiptMutationSuite } from '../helpers/receipt-mutation-suite.ts';

receiptMutationSuite('doc-audit-receipt.json', 'proof');

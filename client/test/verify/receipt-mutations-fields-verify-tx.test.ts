// Exhaustive single-change tests (fields) on the real CCF receipt doc-verify-tx-2.643.json; one file per receipt and part so
// that each file stays short on a busy machine. The suite is in ../helpers/receipt-mutation-suite.ts.
import { receiptMutationSuite } from '../helpers/receipt-mutation-suite.ts';

receiptMutationSuite('doc-verify-tx-2.643.json', 'fields');

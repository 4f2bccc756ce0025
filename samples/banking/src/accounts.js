// Account records for the banking sample. Balances are integers (smallest currency unit) kept below
// 2^53 so JSON and JS numbers hold them exactly.
//
// Map "accounts": account name (UTF-8) -> {"owner": <user id>, "balance": n, "transfers": n}
// Map "transfers": "<from account>/<n>" -> {"from", "to", "amount"}; n counts the sender's transfers, so
// concurrent transfers from different accounts never write the same key.

export const BALANCE_MAX = Number.MAX_SAFE_INTEGER;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class BankError extends Error {
  constructor(statusCode, code, message) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

export function checkName(name) {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BankError(400, 'InvalidInput', 'account names are 1-64 characters of A-Z a-z 0-9 _ . -');
  }
  return name;
}

export function checkAmount(amount) {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new BankError(400, 'InvalidInput', 'amount must be a positive integer');
  return amount;
}

export function readAccount(name) {
  const raw = ccf.kv.accounts.get(ccf.strToBuf(name));
  if (raw === undefined) throw new BankError(404, 'AccountNotFound', `no account '${name}'`);
  return ccf.bufToJsonCompatible(raw);
}

export function writeAccount(name, account) {
  ccf.kv.accounts.set(ccf.strToBuf(name), ccf.jsonCompatibleToBuf(account));
}

export function accountExists(name) {
  return ccf.kv.accounts.has(ccf.strToBuf(name));
}

export function recordTransfer(from, n, transfer) {
  ccf.kv.transfers.set(ccf.strToBuf(`${from}/${n}`), ccf.jsonCompatibleToBuf(transfer));
}

export function readTransfer(from, n) {
  const raw = ccf.kv.transfers.get(ccf.strToBuf(`${from}/${n}`));
  return raw === undefined ? undefined : ccf.bufToJsonCompatible(raw);
}

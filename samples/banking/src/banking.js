// A small bank, as a JS bundle (paths relative to /app). Users authenticate with their certificate;
// the caller's user ID owns the accounts it opens, and only the owner can move money out of them.
//
//   POST /accounts                          {"name"}                -> 201 {"name", "balance": 0}
//   GET  /accounts/{account}                                        -> {"name", "owner", "balance"}
//   POST /accounts/{account}/deposit        {"amount"}              -> {"balance"}
//   POST /transfers                         {"from", "to", "amount"} -> {"transfer": "<from>/<n>", "balance"}
//   GET  /accounts/{account}/transfers/{n}                          -> {"from", "to", "amount"}
//
// Conflicts: a transfer reads and writes both balances. Two transfers touching the same account in
// parallel conflict at commit (optimistic concurrency); the node re-runs the loser on the new state, where
// it may now fail with InsufficientFunds. Nothing here needs locks: reading the balance records the
// dependency the store checks.

import {
  BALANCE_MAX,
  BankError,
  accountExists,
  checkAmount,
  checkName,
  readAccount,
  readTransfer,
  recordTransfer,
  writeAccount,
} from './accounts.js';

function handle(fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BankError) return { statusCode: e.statusCode, body: { error: { code: e.code, message: e.message } } };
    throw e;
  }
}

function jsonBody(request) {
  try {
    const body = request.body.json();
    if (body !== null && typeof body === 'object') return body;
  } catch {
    // fall through
  }
  throw new BankError(400, 'InvalidInput', 'the request body must be a JSON object');
}

function callerId(request) {
  const id = request.caller && request.caller.id;
  if (typeof id !== 'string') throw new BankError(401, 'Unauthorized', 'a user certificate is required');
  return id;
}

export function open_account(request) {
  return handle(() => {
    const owner = callerId(request);
    const name = checkName(jsonBody(request).name);
    if (accountExists(name)) throw new BankError(409, 'AccountExists', `account '${name}' already exists`);
    writeAccount(name, { owner, balance: 0, transfers: 0 });
    return { statusCode: 201, body: { name, balance: 0 } };
  });
}

export function get_account(request) {
  return handle(() => {
    const name = checkName(request.params.account);
    const account = readAccount(name);
    return { body: { name, owner: account.owner, balance: account.balance } };
  });
}

export function deposit(request) {
  return handle(() => {
    const name = checkName(request.params.account);
    const amount = checkAmount(jsonBody(request).amount);
    const account = readAccount(name);
    if (account.balance > BALANCE_MAX - amount) throw new BankError(400, 'BalanceTooLarge', 'the balance would exceed 2^53 - 1');
    account.balance += amount;
    writeAccount(name, account);
    return { body: { balance: account.balance } };
  });
}

export function transfer(request) {
  return handle(() => {
    const caller = callerId(request);
    const body = jsonBody(request);
    const from = checkName(body.from);
    const to = checkName(body.to);
    const amount = checkAmount(body.amount);
    if (from === to) throw new BankError(400, 'InvalidInput', 'from and to must differ');
    const source = readAccount(from);
    const target = readAccount(to);
    if (source.owner !== caller) throw new BankError(403, 'Forbidden', `only the owner of '${from}' may transfer from it`);
    if (source.balance < amount) throw new BankError(409, 'InsufficientFunds', `'${from}' holds ${source.balance}, less than ${amount}`);
    if (target.balance > BALANCE_MAX - amount) throw new BankError(400, 'BalanceTooLarge', `the balance of '${to}' would exceed 2^53 - 1`);
    source.balance -= amount;
    target.balance += amount;
    source.transfers += 1;
    writeAccount(from, source);
    writeAccount(to, target);
    recordTransfer(from, source.transfers, { from, to, amount });
    return { body: { transfer: `${from}/${source.transfers}`, balance: source.balance } };
  });
}

export function get_transfer(request) {
  return handle(() => {
    const from = checkName(request.params.account);
    const n = Number(request.params.n);
    if (!Number.isSafeInteger(n) || n <= 0) throw new BankError(400, 'InvalidInput', 'transfer numbers are positive integers');
    const transfer = readTransfer(from, n);
    if (transfer === undefined) throw new BankError(404, 'TransferNotFound', `no transfer ${from}/${n}`);
    return { body: transfer };
  });
}

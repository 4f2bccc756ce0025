// Every bound the HTTP client enforces, in one place (names carry their unit last). A caller may
// lower or raise the per-client ones through SynodClient's options; the maxima here are defaults.

export const clientLimits = {
  /** Concurrent sockets per client to one node; further requests queue in the agent. */
  socketsMax: 16,
  /** Idle keep-alive sockets kept per client. */
  freeSocketsMax: 4,
  /** A request with no complete response by then fails with CLIENT_REQUEST_TIMEOUT. */
  requestTimeoutMs: 30_000,
  /** Largest response body read; a larger one is cut off (receipts and API documents are far smaller). */
  responseBytesMax: 64 * 1024 * 1024,
  /** Largest request body sent (the node's own limit is 1 MiB; this only stops absurd inputs early). */
  requestBodyBytesMax: 64 * 1024 * 1024,
  /** Longest path (with its query) accepted by `call`. */
  pathLengthMax: 8192,
  /** waitForCommit / getReceipt: default time to wait. */
  commitTimeoutMs: 30_000,
  /** Polling backoff: the first delay, and the ceiling the doubling stops at. */
  pollInitialDelayMs: 5,
  pollMaxDelayMs: 500,
  /** The shortest request timeout a poll near its deadline is given (a wait may overrun by this much). */
  pollRequestTimeoutMinMs: 250,
  /** The longest `retry-after` honoured while polling (a larger one is capped, not obeyed). */
  retryAfterMaxMs: 5_000,
} as const;

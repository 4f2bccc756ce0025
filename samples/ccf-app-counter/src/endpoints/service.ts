// What the app can tell a caller about itself and the service: the authenticated identity CCF passes
// to the handler, and the consensus view of a transaction.
//
//   GET /whoami                       -> {policy, id}
//   GET /commit-status?view=&seqno=   -> {status, view_of_seqno, last_committed}

import * as ccfapp from "@microsoft/ccf-app";
import { handle, queryParam, uintParam } from "../http.js";

const SEQNO_MAX = Number.MAX_SAFE_INTEGER;

export function whoami(request: ccfapp.Request): ccfapp.Response {
  const caller = request.caller as ccfapp.UserCertAuthnIdentity;
  return { body: { policy: caller.policy, id: caller.id } };
}

export function commitStatus(request: ccfapp.Request): ccfapp.Response {
  return handle(() => {
    const view = uintParam(queryParam(request.query, "view"), "view", SEQNO_MAX);
    const seqno = uintParam(queryParam(request.query, "seqno"), "seqno", SEQNO_MAX);
    return {
      body: {
        status: ccfapp.getStatusForTxId(view, seqno),
        view_of_seqno: ccfapp.getViewForSeqno(seqno),
        last_committed: ccfapp.getLastCommittedTxId(),
      },
    };
  });
}

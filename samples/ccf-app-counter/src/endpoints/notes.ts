// Notes whose receipts carry application claims: each write sets the claims digest to the SHA-256 of
// the claims {"id", "text"} (compact JSON, in that order), so a receipt for the write proves what
// was noted without revealing the private map.
//
//   POST /notes       {"text"}  -> 201 {id, claims_digest}
//   GET  /notes/{id}            -> {id, text, author}, or 404

import * as ccfapp from "@microsoft/ccf-app";
import { digest } from "@microsoft/ccf-app/crypto.js";
import { HttpError, callerId, errorResponse, handle, jsonObject, toHex, uintParam } from "../http.js";

const TEXT_LENGTH_MAX = 4096;
const NOTE_ID_MAX = 4294967295;

interface Note {
  text: string;
  author: string;
}

const notes = ccfapp.typedKv("notes", ccfapp.uint32, ccfapp.json<Note>());
const meta = ccfapp.typedKv("public:notes.meta", ccfapp.string, ccfapp.uint32);
const NEXT_ID = "next_id";

/** The bytes whose digest a note's receipt carries. */
export function noteClaims(id: number, text: string): ArrayBuffer {
  return ccfapp.checkedJson<{ id: number; text: string }>().encode({ id, text });
}

export function create(request: ccfapp.Request<{ text: string }>): ccfapp.Response {
  return handle(() => {
    const author = callerId(request);
    const text = jsonObject(request)["text"];
    if (typeof text !== "string" || text.length === 0 || text.length > TEXT_LENGTH_MAX) {
      throw new HttpError(400, "InvalidInput", `text must be a string of 1 to ${TEXT_LENGTH_MAX} characters.`);
    }
    const id = meta.get(NEXT_ID) ?? 1;
    if (id > NOTE_ID_MAX) return errorResponse(507, "NotesFull", "No note IDs are left.");
    notes.set(id, { text, author });
    meta.set(NEXT_ID, id + 1);
    const claimsDigest = digest("SHA-256", noteClaims(id, text));
    ccfapp.setClaimsDigest(claimsDigest);
    return { statusCode: 201, body: { id, claims_digest: toHex(claimsDigest) } };
  });
}

export function get(request: ccfapp.Request): ccfapp.Response {
  return handle(() => {
    const id = uintParam(request.params["id"], "id", NOTE_ID_MAX);
    const note = notes.get(id);
    if (note === undefined) return errorResponse(404, "ResourceNotFound", `No note ${id}.`);
    return { body: { id, text: note.text, author: note.author } };
  });
}

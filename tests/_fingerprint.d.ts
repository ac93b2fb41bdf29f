import type { Program } from "../portable.ts";
/** See tests/_fingerprint.js. */
export function fingerprint(program: typeof Program, bytes: Uint8Array): unknown;

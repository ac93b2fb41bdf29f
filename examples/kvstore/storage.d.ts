import type { HostFunction } from "../../mod.ts";
/** See storage.js. */
export function storageImports(
  storage: Map<string, Uint8Array>,
): { storage_get: HostFunction; storage_set: HostFunction; };

/**
 * The test files that need no Deno-only API (child processes, FFI, servers):
 * they run under Node and Bun (tests/node/run.ts) and in headless Chromium
 * (tests/browser_matrix_test.ts) as well as under Deno.
 * @module
 */

/** File names in tests/. */
export const PORTABLE_TESTS = [
  "api_test.ts",
  "conformance_test.ts",
  "differential_test.ts",
  "elf_test.ts",
  "gas_test.ts",
  "host_calls_test.ts",
  "memory_test.ts",
  "reset_test.ts",
  "samples_test.ts",
  "traps_test.ts",
];

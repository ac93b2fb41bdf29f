/** Seeded randomness for fuzz-style tests: the fuzzer's, so a seed means the same everywhere. */
export { mulberry32, seeded } from "../fuzz/random.ts";

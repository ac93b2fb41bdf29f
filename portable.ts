/**
 * rvbox's portable entry point: the API of `@rvbox/rvbox` with the
 * interpreter only. It imports no code generator, no FFI and no WebAssembly,
 * so it runs wherever JavaScript runs (Node, Bun, browsers, `--jitless`, a
 * CSP without `unsafe-eval`), and a fresh process loads about half as much
 * code. `tier: "auto"` runs the interpreter; `tier: "native"` and
 * `tier: "wasm"` are a `RangeError` that says the tier is not loaded.
 *
 * @example
 * ```ts
 * import { Program } from "@rvbox/rvbox/portable";
 * import { hello } from "@rvbox/rvbox/samples";
 *
 * const program = Program.fromBytes(hello);
 * const instance = program.instantiate({
 *   host_log: (ctx, ptr, len) => console.log(ctx.memory.readString(ptr, len)),
 * }, { gas: 1_000_000 });
 * console.log("exit code:", instance.run(), "on the", instance.tier);
 * ```
 * @module
 */
export { LinkError, ProgramError, Trap } from "./abi/errors.ts";
export type { TrapInit, TrapKind } from "./abi/errors.ts";
export type { HostContext, HostFunction, Imports, Memory } from "./abi/host.ts";
export { Instance } from "./abi/instance.ts";
export type { ExportedFunction, Tier } from "./abi/instance.ts";
export type { ProgramOptions } from "./abi/load.ts";
export type { MemoryOptions } from "./abi/memory.ts";
export { releasePooledMemory, setMemoryPoolLimit } from "./abi/memory_pool.ts";
export { linkProgram, Program } from "./abi/program.ts";
export type { InstanceOptions, SegmentInfo, SymbolInfo } from "./abi/program.ts";
// Registers the interpreter with every program (abi/tiers.ts).
import "./interpreter/mod.ts";

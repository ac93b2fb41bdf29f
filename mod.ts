/**
 * rvbox: an embeddable RISC-V (RV32E/RV32I + M, A, C) virtual machine.
 * Untrusted programs compiled by ordinary compilers run in a deterministic,
 * gas-metered memory sandbox. The API is shaped like WebAssembly's:
 * a {@linkcode Program} is loaded once and instantiated with host functions.
 *
 * @example
 * ```ts
 * import { Program, Trap } from "@rvbox/rvbox";
 * import { hello } from "@rvbox/rvbox/samples"; // or: await Program.fromFile("prog.elf")
 *
 * const program = Program.fromBytes(hello);
 * const instance = program.instantiate({
 *   host_log: (ctx, ptr, len) => console.log(ctx.memory.readString(ptr, len)),
 * }, { gas: 1_000_000 });
 * try {
 *   console.log("exit code:", instance.run());
 * } catch (e) {
 *   if (e instanceof Trap) console.error(e.kind, e.pc.toString(16));
 * }
 * ```
 * @module
 */
export { resourceUsage, setResourceLimits } from "./abi/resources.ts";
export type { ResourceLimits, ResourceUsage } from "./abi/resources.ts";
export { codeCache } from "./jit/code_cache.ts";
export type { CodeCacheLimits, CodeCacheUsage } from "./jit/code_cache.ts";
export * from "./portable.ts";
// Registers the native tier with every program (abi/tiers.ts).
import "./jit/mod.ts";
// Registers the wasm tier with every program (abi/tiers.ts).
import "./wasm/mod.ts";

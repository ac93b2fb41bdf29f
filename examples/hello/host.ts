/**
 * Host functions for the hello guest on the command line:
 * `deno task rvbox run examples/hello/hello.rv32em.elf --host examples/hello/host.ts`.
 * Every exported function answers the guest's import of the same name.
 */
import type { HostContext } from "../../mod.ts";

/** `host_log(ptr, len)`: logs the guest's text. */
export function host_log(ctx: HostContext, ptr: number, len: number): void {
  console.log(`host_log: ${ctx.memory.readString(ptr, len)}`);
}

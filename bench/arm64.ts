/**
 * `deno task bench:arm64`: the AArch64 figures that can be measured on an
 * x86-64 machine. On the host: translation speed of both backends (code
 * generation is plain TypeScript). Under qemu-aarch64 with Deno's AArch64
 * build (`--emulated`): interpreter and native-tier times of a few workloads.
 * Emulated times are not AArch64 speed; only their ratio means something.
 * @module
 */
import { A64Backend } from "../jit/a64/backend.ts";
import { X64Backend } from "../jit/x64/backend.ts";
import { Program } from "../mod.ts";
import { medianMs, translationSpeed } from "./_cycle.ts";
import { guestBytes } from "./_engines.ts";
import { IMPORTS } from "./_measure.ts";
import { WORKLOADS } from "./guests/build.ts";

if (Deno.args.includes("--emulated")) {
  console.log(`under emulation on ${Deno.build.arch}: run(1), median of 3, ms`);
  for (const name of ["fib", "sieve", "sort", "tokenize"] as const) {
    const program = Program.fromBytes(guestBytes(name, "rv32imac.elf"));
    const ms = (["interpreter", "native"] as const).map((tier) => {
      const instance = program.instantiate(IMPORTS, { tier, gas: 1e13 });
      instance.exports.run(1);
      return medianMs(3, () => instance.exports.run(1));
    });
    console.log(
      `${name.padEnd(9)} interpreter ${ms[0].toFixed(1)}  native ${ms[1].toFixed(1)}  ratio ${
        (ms[0] / ms[1]).toFixed(1)
      }`,
    );
  }
} else {
  const codes = WORKLOADS.map((name) =>
    Program.fromBytes(guestBytes(name, "rv32imac.elf")).image.code
  );
  for (const [arch, backend] of [["x86-64", X64Backend], ["AArch64", A64Backend]] as const) {
    const speed = translationSpeed(codes, (code) => new backend(code), 15);
    console.log(
      `${arch} backend: translates ${speed.warmMBps.toFixed(1)} MB of guest code per second warm, ${
        speed.firstMBps.toFixed(1)
      } on its first pass over the workloads`,
    );
  }
}

/**
 * One measurement of the whole cycle, in a child process: program bytes →
 * the result of one small call of the contract workload, timed from before
 * the engine's code is imported. Prints JSON `{ importMs, cycleMs }`.
 *
 *   _whole_cycle_child.ts <interpreter|native|rvbox-wasm|auto|wasm> <fresh|warm|import-source>
 *
 * (`wasm` is V8's WebAssembly, `rvbox-wasm` rvbox's wasm tier.)
 *
 * `fresh`: the first thing the process does. `warm`: after serving the other
 * workloads (both ISAs, or their wasm modules) for a while, so rvbox's own
 * code is optimized but the contract is new to the process; each served
 * program is disposed after its call, as a server would (its memory then
 * serves the next program loaded). Nothing from
 * rvbox is imported statically: the import is part of what a fresh process
 * pays. rvbox comes from its single-module bundles (dist/), which a user who
 * cares about start-up imports: the interpreter from the portable one, the
 * native tier from the full one. `import-source` only imports the source
 * entry point instead (portable.ts or mod.ts) and reports that.
 * @module
 */
const [engine, mode] = Deno.args;
const WORKLOADS = ["cpu6502", "sha256", "sieve", "sort", "fib", "tokenize", "memops"];
const read = (name: string) => Deno.readFileSync(new URL(`./guests/${name}`, import.meta.url));
const WARM_MS = 1000;

async function wasmCycle(): Promise<{ importMs: number; cycleMs: number; }> {
  const imports = { env: { host_inc: (x: number) => (x + 1) | 0 } };
  const call = async (bytes: Uint8Array<ArrayBuffer>, name: string, arg: number) => {
    const { instance } = await WebAssembly.instantiate(bytes, imports);
    return (instance.exports[name] as (x: number) => number)(arg);
  };
  if (mode === "warm") {
    const others = WORKLOADS.map((w) => read(`${w}.wasm`));
    const until = performance.now() + WARM_MS;
    while (performance.now() < until) for (const bytes of others) await call(bytes, "run", 1);
  }
  const contract = read("contract.wasm");
  const t = performance.now();
  await call(contract, "small", 1);
  return { importMs: 0, cycleMs: performance.now() - t };
}

async function rvboxCycle(tier: "interpreter" | "native" | "wasm" | "auto") {
  const contract = read("contract.rv32imac.elf");
  const source = mode === "import-source";
  const entry = tier === "interpreter"
    ? (source ? "../portable.ts" : "../dist/portable.min.js")
    : (source ? "../mod.ts" : "../dist/rvbox.min.js");
  const t0 = performance.now();
  const { Program } = await import(entry) as typeof import("../mod.ts");
  const importMs = performance.now() - t0;
  if (source) return { importMs, cycleMs: 0 };
  const imports = { host_inc: (_ctx: unknown, x: number) => (x + 1) | 0 };
  if (mode === "warm") {
    const others = [
      ...WORKLOADS.flatMap((w) => [read(`${w}.rv32imac.elf`), read(`${w}.rv32em.elf`)]),
      read("contract.rv32em.elf"),
    ];
    const until = performance.now() + WARM_MS;
    while (performance.now() < until) {
      for (const bytes of others) {
        using program = Program.fromBytes(bytes);
        using instance = program.instantiate(imports, { tier });
        if (instance.exports.run) instance.exports.run(1);
        else instance.exports.small(1);
      }
    }
  }
  const t = performance.now();
  using instance = Program.fromBytes(contract).instantiate(imports, { tier });
  instance.exports.small(1);
  return { importMs, cycleMs: performance.now() - t };
}

const result = engine === "wasm"
  ? await wasmCycle()
  : await rvboxCycle(
    engine === "rvbox-wasm" ? "wasm" : engine as "interpreter" | "native" | "auto",
  );
console.log(JSON.stringify(result));

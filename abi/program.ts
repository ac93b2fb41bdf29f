/**
 * `Program`: a validated, decoded, reusable program (the counterpart of a
 * compiled WebAssembly module), and instantiation with tier selection.
 * @module
 */
import { writeBlob } from "./_blob_write.ts";
import { readProgramFile, writeOutput } from "./_platform.ts";
import { holdCode, releaseCode } from "./_recycle.ts";
import { preparingUpgrade, TieredEngine, type TierUpCounter } from "./_tiered.ts";
import { tierUpDefault, type YieldingEngine } from "./_tiered.ts";
import { isBlob, loadImage } from "./blob.ts";
import { DEFAULT_GAS, DEFAULT_MAX_FILE_SIZE } from "./constants.ts";
import type { Engine } from "./engine.ts";
import { type Imports, linkImports } from "./host.ts";
import { checkGas, hostContext, Instance, type Tier } from "./instance.ts";
import { limit, type ProgramImage, type ProgramOptions } from "./load.ts";
import { GuestMemory, type MemoryOptions } from "./memory.ts";
import { retireMemoryPlans } from "./memory_plan.ts";
import { createInterpreter, type NativeSupport, notLoaded, translatingTier } from "./tiers.ts";
import { PreparationNeeded } from "./tiers.ts";

/** Options of {@linkcode Program.instantiate}. */
export interface InstanceOptions extends MemoryOptions {
  /**
   * Which tier runs the guest. Default `"auto"`: the native tier on x86-64
   * and AArch64 Linux when FFI permission is granted (it never prompts),
   * else the wasm tier where WebAssembly can be compiled (not under
   * `--jitless` or a CSP that forbids it), else the interpreter. `"native"`
   * and `"wasm"` throw a `RangeError` where they cannot run.
   */
  tier?: Tier;
  /** Initial gas. Default: 10 000 000 000. */
  gas?: number;
  /**
   * With `tier: "auto"` where the native or wasm tier runs: the gas the
   * program's instances spend on the interpreter, together, before they
   * move to translated code (tier-up: a small call then never waits for a
   * translation; results, gas and traps are the same either way). Default
   * 1 000 000; `0` translates at once, as `tier: "native"` or `"wasm"` does.
   */
  tierUp?: number;
  /**
   * Receives the bytes the guest prints with `rvbox_print`. Default: standard
   * output.
   */
  print?: (bytes: Uint8Array) => void;
  /**
   * Called before every instruction with its pc and the registers (x0..x31
   * plus an internal slot). Slow; for debuggers and the CLI's `--trace`.
   */
  trace?: (pc: number, registers: Int32Array) => void;
}

/** A loaded segment as {@linkcode Program.segments} reports it. */
export interface SegmentInfo {
  /** First address (page-aligned). */
  start: number;
  /** One past the last address (page-aligned). */
  end: number;
  /** Permissions, like `"r-x"`. */
  permissions: string;
}

/** A symbol of the program's ELF symbol table, as {@linkcode Program.symbols} reports it. */
export interface SymbolInfo {
  /** Its name. */
  name: string;
  /** Its address. */
  address: number;
  /** Its size in bytes (0 when the symbol table gives none, as for most labels). */
  size: number;
  /** `"function"`, `"object"` (data) or `"label"` (no type, e.g. `begin_signature`). */
  kind: "function" | "object" | "label";
  /** Visible to other files (global or weak) rather than file-local (`static`). */
  global: boolean;
}

/**
 * The native tier's availability once it has been found: FFI permission,
 * once granted, is not asked again for every instance (querying it costs
 * more than a pooled native instantiation).
 */
let nativeAvailable: NativeSupport | undefined;

function native(): NativeSupport {
  if (nativeAvailable !== undefined) return nativeAvailable;
  const support = translatingTier("native")?.support() ?? notLoaded("native");
  if (support.ok) nativeAvailable = support;
  return support;
}

function wasmSupport(): NativeSupport {
  return translatingTier("wasm")?.support() ?? notLoaded("wasm");
}

function chooseTier(
  tier: Tier,
  tracing: boolean,
): { tier: Exclude<Tier, "auto">; reason: string; } {
  switch (tier) {
    case "interpreter":
      return { tier, reason: "requested" };
    case "auto": {
      if (tracing) return { tier: "interpreter", reason: "tracing runs on the interpreter" };
      const support = native();
      if (support.ok) return { tier: "native", reason: support.reason };
      const wasm = wasmSupport();
      return wasm.ok
        ? { tier: "wasm", reason: `${support.reason}; ${wasm.reason}` }
        : { tier: "interpreter", reason: support.reason };
    }
    case "wasm":
    case "native": {
      if (tracing) throw new RangeError(`tier "${tier}" cannot trace; use tier "interpreter"`);
      const support = tier === "native" ? native() : wasmSupport();
      if (!support.ok) throw new RangeError(`tier "${tier}" is not available: ${support.reason}`);
      return { tier, reason: "requested" };
    }
    default:
      throw new RangeError(
        `unknown tier ${JSON.stringify(tier)} (use "auto", "interpreter", "wasm" or "native")`,
      );
  }
}

/** `tierUp` if it is valid. */
function checkTierUp(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`tierUp must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

/** A private copy of a program's bytes (the image keeps views of them). */
function copyProgram(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes.slice();
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes.slice(0));
  throw new TypeError("a program must be given as a Uint8Array or an ArrayBuffer");
}

/**
 * Converts a program to the compact `.rvbox` blob format (abi/README.md
 * §7): a fraction of the ELF file (a fifth for small programs), loaded by
 * {@linkcode Program.fromBytes} into exactly the same program (same code,
 * gas, imports and exports on every tier). The same input always gives the
 * same bytes; a blob given as input comes back unchanged.
 *
 * @example
 * ```ts
 * import { linkProgram, Program } from "@rvbox/rvbox";
 * const elf = await Deno.readFile("examples/fib/fib.rv32em.elf"); // in rvbox's repository
 * const blob = linkProgram(elf);
 * console.log(elf.length, "->", blob.length); // 12796 -> 2444
 * console.log(Program.fromBytes(blob).format); // "rvbox"
 * ```
 * @throws {ProgramError} when the input is not a loadable program.
 */
export function linkProgram(
  bytes: Uint8Array | ArrayBuffer,
  options: ProgramOptions = {},
): Uint8Array {
  return writeBlob(loadImage(copyProgram(bytes), options));
}

/**
 * A validated RISC-V program, decoded once and instantiated any number of
 * times.
 *
 * @example
 * ```ts
 * import { Program } from "@rvbox/rvbox";
 * import { hello } from "@rvbox/rvbox/samples";
 * const program = Program.fromBytes(hello);
 * console.log(program.imports); // ["rvbox_exit", "rvbox_sbrk", "rvbox_print", "host_log"]
 * const instance = program.instantiate({
 *   host_log: (ctx, ptr, len) => console.log(ctx.memory.readString(ptr, len)),
 * });
 * console.log("exit code", instance.run());
 * ```
 */
export class Program {
  readonly #image: ProgramImage;
  readonly #format: "elf" | "rvbox";
  #disposed = false;
  /** Gas its tier-up instances have spent on the interpreter, together (abi/_tiered.ts). */
  readonly #tierUpSpent: TierUpCounter = { spent: 0 };

  /**
   * Validates and decodes an ELF executable or an `.rvbox` blob (told apart
   * by their first bytes).
   * @throws {ProgramError} when the bytes are not a loadable program.
   */
  constructor(bytes: Uint8Array | ArrayBuffer, options: ProgramOptions = {}) {
    const copy = copyProgram(bytes);
    this.#format = isBlob(copy) ? "rvbox" : "elf";
    this.#image = loadImage(copy, options);
    holdCode(this.#image.code); // released by dispose()
  }

  /** Same as `new Program(bytes, options)`. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, options?: ProgramOptions): Program {
    return new Program(bytes, options);
  }

  /**
   * Reads and loads an ELF file or a blob (needs read permission for the path). Reads
   * at most `maxFileSize` bytes (default 256 MiB): a longer file, device or
   * pipe is a `ProgramError`, read no further than one byte past the limit.
   *
   * @example
   * ```ts
   * import { Program } from "@rvbox/rvbox";
   * const program = await Program.fromFile("examples/fib/fib.rv32em.elf"); // in rvbox's repository
   * console.log(program.exports); // ["fib", "fib64"]
   * ```
   */
  static async fromFile(path: string | URL, options: ProgramOptions = {}): Promise<Program> {
    const maxBytes = limit(options, "maxFileSize", DEFAULT_MAX_FILE_SIZE);
    return new Program(await readProgramFile(path, maxBytes), options);
  }

  /** Names of the functions the program imports (built-in services included). */
  get imports(): string[] {
    return [...this.#image.imports];
  }

  /** Names of the functions the program exports. */
  get exports(): string[] {
    return [...this.#image.exports.keys()];
  }

  /** Entry point address (used by `run()`). */
  get entry(): number {
    return this.#image.entry;
  }

  /** What the program was loaded from: an ELF file or an `.rvbox` blob ({@linkcode linkProgram}). */
  get format(): "elf" | "rvbox" {
    return this.#format;
  }

  /** `"rv32e"` (16 registers) or `"rv32i"`. */
  get base(): "rv32e" | "rv32i" {
    return this.#image.rve ? "rv32e" : "rv32i";
  }

  /** Loaded segments, page-rounded, in address order. */
  get segments(): SegmentInfo[] {
    return this.#image.segments.map((s) => ({
      start: s.start,
      end: s.end,
      permissions: (s.read ? "r" : "-") + (s.write ? "w" : "-") + (s.exec ? "x" : "-"),
    }));
  }

  /**
   * The ELF file's symbols (functions, data, labels; not sections or files),
   * sorted by address: empty for a stripped file and for a blob, which keeps
   * no symbols. For test harnesses (`begin_signature`), debuggers and
   * listings.
   *
   * @example
   * ```ts
   * import { Program } from "@rvbox/rvbox";
   * const program = await Program.fromFile("examples/json/json.rv32em.elf"); // in rvbox's repository
   * const main = program.symbols.find((s) => s.name === "main");
   * console.log(main?.kind, main?.size); // "function" and its size in bytes
   * ```
   */
  get symbols(): SymbolInfo[] {
    return this.#image.symbols.map((s) => ({ ...s }));
  }

  /**
   * The symbol named `name` (a global one when a file-local symbol has the
   * same name), or `undefined`.
   *
   * @example
   * ```ts
   * import { Program } from "@rvbox/rvbox";
   * const program = await Program.fromFile("examples/json/json.rv32em.elf"); // in rvbox's repository
   * const main = program.symbol("main")!;
   * console.log(main.address.toString(16), main.size); // where main is, how many bytes
   * ```
   */
  symbol(name: string): SymbolInfo | undefined {
    const named = this.#image.symbols.filter((s) => s.name === name);
    const found = named.find((s) => s.global) ?? named[0];
    return found && { ...found };
  }

  /** Number of decoded instructions. */
  get instructionCount(): number {
    return this.#image.code.count;
  }

  /**
   * @internal The decoded image, for tiers and tools in this package.
   * @throws {Error} when the program has been disposed.
   */
  get image(): ProgramImage {
    if (this.#disposed) throw new Error("the program has been disposed: load it again");
    return this.#image;
  }

  /**
   * Creates an instance with its own memory. With `tier: "auto"`, an
   * instance the resource limits refuse on the native or wasm tier (see
   * `setResourceLimits`) runs on the interpreter instead, and its
   * `tierReason` says so; `tier: "native"` or `"wasm"` throws the `RangeError`.
   * @throws {LinkError} when a required import is missing.
   * @throws {RangeError} on invalid options, an unavailable tier or a resource limit; with
   *   `tier: "wasm"` also where the host refuses to compile or instantiate the program's
   *   WebAssembly synchronously (a browser's main thread, over 8 MB of it: use
   *   {@linkcode Program.instantiateAsync}).
   * @throws {Error} when the program has been disposed.
   */
  instantiate(imports: Imports = {}, options: InstanceOptions = {}): Instance {
    return this.#instantiate(imports, options, undefined);
  }

  /**
   * Same as {@linkcode Program.instantiate}, but the translated code the
   * instance starts on (with `tier: "wasm"`, or `"auto"` once the program is
   * hot or with `tierUp: 0`) is compiled and instantiated without blocking,
   * like the WebAssembly JS API's asynchronous instantiate: in a browser the way to start a large
   * program (over 8 MB of WebAssembly) on the wasm tier, which the main
   * thread refuses to compile synchronously. Otherwise the same instance
   * `instantiate` gives. (`tier: "auto"` needs neither: an instance stays on
   * the interpreter until the compilation it starts in the background is done.)
   *
   * @example
   * ```ts
   * import { Program } from "@rvbox/rvbox";
   * import { fib } from "@rvbox/rvbox/samples";
   * const program = Program.fromBytes(fib);
   * const instance = await program.instantiateAsync({}, { tier: "wasm" });
   * console.log(instance.exports.fib(20), instance.tier); // 6765 wasm
   * ```
   * @throws {LinkError} (rejected) when a required import is missing.
   * @throws {RangeError} (rejected) as {@linkcode Program.instantiate} throws it.
   * @throws {Error} (rejected) when the program has been disposed.
   */
  async instantiateAsync(imports: Imports = {}, options: InstanceOptions = {}): Promise<Instance> {
    if (this.#disposed) throw new Error("the program has been disposed: load it again");
    const requested = options.tier ?? "auto";
    const { tier } = chooseTier(requested, options.trace !== undefined);
    const translator = tier === "interpreter" ? undefined : translatingTier(tier);
    const tierUp = checkTierUp(options.tierUp ?? tierUpDefault.gas);
    const tiered = requested === "auto" && this.#tierUpSpent.spent < tierUp;
    let prepared: unknown;
    if (translator?.prepare !== undefined && !tiered) {
      try {
        prepared = await translator.prepare(this.#image, options);
      } catch (error) {
        // `auto` falls back as `instantiate` does, which meets the same refusal.
        if (requested !== "auto" || translator.limitOf(error) === undefined) throw error;
      }
    }
    return this.#instantiate(imports, options, prepared);
  }

  #instantiate(imports: Imports, options: InstanceOptions, prepared: unknown): Instance {
    if (this.#disposed) throw new Error("the program has been disposed: load it again");
    const image = this.#image;
    const requested = options.tier ?? "auto";
    let { tier, reason } = chooseTier(requested, options.trace !== undefined);
    const gas = checkGas(options.gas ?? DEFAULT_GAS);
    const tierUp = checkTierUp(options.tierUp ?? tierUpDefault.gas);
    const resolved = linkImports(image.imports, imports);
    const print = options.print ?? writeOutput;
    let engine: Engine | undefined;
    const init = (memory: GuestMemory, context = hostContext(memory, () => engine!)) => ({
      imports: resolved,
      host: { memory, context, print },
      gas,
    });
    const translator = tier === "interpreter" ? undefined : translatingTier(tier);
    const refused = (error: unknown) => {
      const limit = translator!.limitOf(error);
      if (requested !== "auto" || limit === undefined) throw error;
      return `${limit}, so the interpreter runs this instance`;
    };
    let tiered = translator !== undefined && requested === "auto"
      && this.#tierUpSpent.spent < tierUp;
    // Every tier but native reads the program's code tables while it runs (the interpreter
    // its compiled stream, the wasm engine instruction starts and sizes at exits).
    const code = image.code;
    let onDispose: (() => void) | undefined;
    let wait = `until the program has spent ${tierUp} gas (tier-up)`;
    if (translator !== undefined && !tiered) {
      try {
        engine = translator.createEngine(
          image,
          options,
          (memory) => init(memory),
          undefined,
          prepared,
        );
        if (tier === "wasm") {
          holdCode(code);
          onDispose = () => releaseCode(code);
        }
      } catch (error) {
        if (requested === "auto" && error instanceof PreparationNeeded) {
          tiered = true;
          wait = `until the ${tier} tier is compiled in the background (${error.message})`;
        } else {
          tier = "interpreter";
          reason = refused(error);
        }
      }
    }
    if (engine === undefined) {
      const memory = new GuestMemory(image, options);
      holdCode(code);
      onDispose = () => releaseCode(code);
      const interpreter = createInterpreter({ image, ...init(memory), trace: options.trace });
      if (tiered && translator !== undefined) {
        // Its translated engine takes over the same memory and host context.
        const upgrade = preparingUpgrade(
          (prepared) => {
            // A disposed program's translation would have no holder to free it but the GC.
            if (this.#disposed) throw new Error("the program was disposed before tier-up");
            return translator.createEngine(
              image,
              options,
              () => init(memory, interpreter.context),
              memory,
              prepared,
            );
          },
          translator.prepare && (() => translator.prepare!(image, options)),
          (error) => this.#disposed ? (error as Error).message : refused(error),
        );
        engine = new TieredEngine(
          interpreter as YieldingEngine,
          upgrade,
          this.#tierUpSpent,
          tierUp,
          tier as "native" | "wasm",
        );
        tier = "interpreter";
        reason = `${reason}; on the interpreter ${wait}`;
      } else engine = interpreter;
    }
    return new Instance({
      engine,
      gas,
      entry: image.entry,
      exports: image.exports,
      stackTop: engine.memory.stackTop,
      tier,
      tierReason: reason,
      onDispose,
    });
  }

  /**
   * Frees what the program holds outside the JavaScript heap: the native
   * tier's translated code and jump table (made at its first native
   * instance). Instances still alive keep working; the code goes when the
   * last of them is disposed or collected, so it never runs after it is
   * unmapped. Instantiating the program afterwards throws. Calling it again
   * does nothing. A program collected undisposed is freed by garbage
   * collection, later.
   *
   * Once no instance of it is left either (disposed, not merely dropped)
   * and its native code is freed, the memory of its tables and compiled
   * code is kept for the next programs loaded, which then start without the
   * page faults of fresh memory (`releasePooledMemory()` drops it). A
   * process that loads many programs should dispose them (`using program = ...`).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    retireMemoryPlans(this.#image);
    translatingTier("native")?.disposeCode(this.#image);
    releaseCode(this.#image.code);
  }

  /** Same as {@linkcode Program.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

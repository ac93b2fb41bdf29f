/**
 * An instance's `exports` object. The names and addresses are the
 * program's, so each program gets one prototype with a getter per export,
 * made once; an instance's object makes the function for a name the first
 * time it is read. Instantiating then costs the same for a program with one
 * export or a thousand.
 * @module
 */

/**
 * An exported guest function: takes up to six integer arguments (a0-a5) and
 * returns a0 as a signed 32-bit number; `.i64()` returns a1:a0 as a signed
 * bigint instead.
 *
 * @example
 * ```ts
 * import { Program } from "@rvbox/rvbox";
 * import { fib as fibProgram } from "@rvbox/rvbox/samples";
 * const program = Program.fromBytes(fibProgram);
 * const { fib, fib64 } = program.instantiate({}).exports;
 * console.log(fib(20), fib64.i64(60)); // 6765 1548008755920n
 * ```
 */
export interface ExportedFunction {
  /** Calls the export; returns a0. */
  (...args: (number | bigint)[]): number;
  /** Calls the export; returns a1:a0 as a signed 64-bit bigint. */
  i64(...args: (number | bigint)[]): bigint;
}

/** An export's argument as given (converted by the instance). */
type Argument = number | bigint | undefined;

/**
 * Calls the export at `pc` of `instance` with `argc` arguments, the first
 * six of them given (the rest undefined); `i64` returns a1:a0 as a bigint.
 * One function for every instance, so that V8 inlines it into the exported
 * functions (which are made per instance).
 */
export type ExportCall = (
  instance: object,
  pc: number,
  argc: number,
  a0: Argument,
  a1: Argument,
  a2: Argument,
  a3: Argument,
  a4: Argument,
  a5: Argument,
  i64: boolean,
) => number | bigint;

/** The exports object of one instance (its prototype, per program, names the exports). */
class Exports {
  readonly #call: ExportCall;
  readonly #instance: object;
  readonly #made: (ExportedFunction | undefined)[] = [];

  constructor(call: ExportCall, instance: object) {
    this.#call = call;
    this.#instance = instance;
  }

  /** Export number `index`, at `pc`, of `exports` (made on first use). */
  static get(exports: Exports, index: number, pc: number): ExportedFunction {
    const made = exports.#made[index];
    if (made !== undefined) return made;
    const call = exports.#call;
    const instance = exports.#instance;
    // Six named parameters and `arguments.length` (which V8 reads without
    // making the object): a rest parameter allocated an array per call.
    const caller = (i64: boolean) =>
      function(
        a0?: Argument,
        a1?: Argument,
        a2?: Argument,
        a3?: Argument,
        a4?: Argument,
        a5?: Argument,
      ) {
        return call(instance, pc, arguments.length, a0, a1, a2, a3, a4, a5, i64);
      };
    const fn = caller(false) as ExportedFunction;
    fn.i64 = caller(true) as ExportedFunction["i64"];
    return exports.#made[index] = fn;
  }
}
// No inherited names: an export named "toString" is the program's, and one the program lacks is undefined.
Object.setPrototypeOf(Exports.prototype, null);

const classes = new WeakMap<
  ReadonlyMap<string, number>,
  new(call: ExportCall, instance: object) => Exports
>();

/**
 * A new exports object for the program exports `names` (name to address)
 * of `instance`, calling through `call`.
 */
export function exportsObject(
  names: ReadonlyMap<string, number>,
  call: ExportCall,
  instance: object,
): Readonly<Record<string, ExportedFunction>> {
  let ProgramExports = classes.get(names);
  if (ProgramExports === undefined) {
    ProgramExports = class extends Exports {};
    let index = 0;
    for (const [name, pc] of names) {
      const k = index++;
      Object.defineProperty(ProgramExports.prototype, name, {
        get(this: Exports) {
          return Exports.get(this, k, pc);
        },
        enumerable: true,
      });
    }
    Object.freeze(ProgramExports.prototype);
    classes.set(names, ProgramExports);
  }
  return new ProgramExports(call, instance) as unknown as Readonly<
    Record<string, ExportedFunction>
  >;
}

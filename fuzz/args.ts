/**
 * A small command-line parser (JSR's @std/cli is unreachable from the
 * development machines): `--name value`, `--name=value` and bare `--flag`s.
 * @module
 */

/** Parsed options: strings by name, `true` for flags. */
export type Args = Record<string, string | true>;

/** Parses `argv`; `flags` names the options that take no value. Unknown options throw. */
export function parseArgs(
  argv: readonly string[],
  known: readonly string[],
  flags: readonly string[],
): Args {
  const out: Args = {};
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (!arg.startsWith("--")) throw new RangeError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name)) out[name] = true;
    else if (!known.includes(name)) throw new RangeError(`unknown option --${name}`);
    else if (eq >= 0) out[name] = arg.slice(eq + 1);
    else if (k + 1 < argv.length) out[name] = argv[++k];
    else throw new RangeError(`--${name} needs a value`);
  }
  return out;
}

/** A non-negative integer option, or `fallback` when absent. */
export function intArg(args: Args, name: string, fallback: number): number {
  const value = args[name];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value === true || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`--${name} must be a non-negative integer, got ${value}`);
  }
  return n;
}

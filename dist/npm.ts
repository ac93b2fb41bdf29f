/**
 * `deno task build:npm [out]`: builds the npm package (default `dist/npm/`,
 * not committed) from the same sources as the JSR one:
 *
 * - JavaScript: the single-module bundles (`deno task bundle`: the full
 *   entry point, the portable one) and `samples.js`, all ES modules;
 * - types: declarations emitted by TypeScript's `tsc` (npm `typescript`,
 *   installed in `.ci/tools`), only those the entry points reach, with
 *   import paths ending in `.js` as Node resolves them;
 * - `package.json` with conditional exports, the license and a README.
 *
 * Under Node the native tier runs through koffi, an optional dependency:
 * where it does not install (or load), `tier: "auto"` moves hot programs to the wasm tier.
 * `npm pack --dry-run` in `dist/npm/` lists what would be published (CI).
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";
import { buildBundles } from "./build.ts";

const ROOT = new URL("../", import.meta.url);
const ENTRIES = { ".": "mod", "./portable": "portable", "./samples": "samples" } as const;

/** Runs `command` in the repository; throws with its output when it fails. */
async function run(command: string, args: string[], cwd = ROOT): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, cwd }).output();
  if (code !== 0) {
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    throw new Error(`${command} ${args.join(" ")} failed:\n${text}`);
  }
}

/** Emits declarations for the entry points into `dir` (a temporary directory). */
async function declarations(dir: string): Promise<void> {
  const tsc = new URL(".ci/tools/node_modules/typescript/bin/tsc", ROOT).pathname;
  try {
    await Deno.stat(tsc);
  } catch {
    throw new Error("tsc not found: run `npm install` in .ci/tools");
  }
  const denoTypes = `${dir}/lib.deno.d.ts`;
  const types = await new Deno.Command(Deno.execPath(), { args: ["types"] }).output();
  await Deno.writeFile(denoTypes, types.stdout);
  const config = {
    compilerOptions: {
      target: "es2022",
      module: "esnext",
      moduleResolution: "bundler",
      allowImportingTsExtensions: true,
      declaration: true,
      emitDeclarationOnly: true,
      outDir: `${dir}/out`,
      rootDir: ROOT.pathname,
      strict: true,
      skipLibCheck: true,
      lib: ["es2023", "dom"],
      types: [],
    },
    files: [denoTypes, ...Object.values(ENTRIES).map((e) => new URL(`${e}.ts`, ROOT).pathname)],
  };
  await Deno.writeTextFile(`${dir}/tsconfig.json`, JSON.stringify(config));
  await run("node", [tsc, "-p", `${dir}/tsconfig.json`]);
}

/** `./x.ts` → `./x.js` in import and export specifiers of a declaration file. */
const jsSpecifiers = (text: string) =>
  text.replace(/(from\s+"|import\s+")(\.{1,2}\/[^"]+)\.ts"/g, '$1$2.js"');

/**
 * Copies the declarations the entry points reach from `from` to `to`, the
 * native tier's side-effect import dropped (it has no types, and its modules
 * name Deno's): a type that needs `Deno` is an error.
 */
async function copyReachable(from: string, to: string): Promise<number> {
  const queue = Object.values(ENTRIES).map((e) => `${e}.d.ts`);
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text = await Deno.readTextFile(`${from}/${file}`);
    text = jsSpecifiers(text.replace(/^import "\.\/jit\/mod\.ts";\n/m, ""));
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    if (/\bDeno\./.test(code)) throw new Error(`${file}: a public type needs Deno's types`);
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    for (const [, spec] of text.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)\.js"/g)) {
      const target = new URL(`${spec}.d.ts`, `file:///${dir}/`).pathname.slice(1);
      queue.push(target);
    }
    await Deno.mkdir(dir === "." ? to : `${to}/${dir}`, { recursive: true });
    await Deno.writeTextFile(`${to}/${file}`, text);
  }
  return seen.size;
}

/** Builds the package into `out`; returns what it wrote. */
export async function buildNpm(out: string): Promise<{ files: number; declarations: number; }> {
  const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const bundles = await buildBundles();
  await Deno.writeTextFile(`${out}/rvbox.js`, bundles.get("dist/rvbox.min.js")!);
  await Deno.writeTextFile(`${out}/portable.js`, bundles.get("dist/portable.min.js")!);
  try {
    await esbuild.build({
      entryPoints: [new URL("samples.ts", ROOT).pathname],
      outfile: `${out}/samples.js`,
      format: "esm",
      target: "es2022",
      logLevel: "warning",
    });
  } finally {
    await esbuild.stop();
  }
  const temp = await Deno.makeTempDir();
  let count: number;
  try {
    await declarations(temp);
    count = await copyReachable(`${temp}/out`, `${out}/types`);
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
  const js = { ".": "rvbox.js", "./portable": "portable.js", "./samples": "samples.js" };
  const exports = Object.fromEntries(
    Object.entries(ENTRIES).map(([key, entry]) => [key, {
      types: `./types/${entry}.d.ts`,
      default: `./${js[key as keyof typeof js]}`,
    }]),
  );
  const pkg = {
    name: deno.name,
    version: deno.version,
    description:
      "An embeddable RISC-V virtual machine: untrusted RV32 programs in a deterministic, gas-metered sandbox",
    license: deno.license,
    type: "module",
    exports,
    engines: { node: ">=20.16" }, // process.getBuiltinModule, to load koffi
    optionalDependencies: { koffi: "^3.3.4" },
    files: ["*.js", "types/", "README.md", "LICENSE"],
    keywords: ["risc-v", "riscv", "virtual-machine", "sandbox", "interpreter", "gas"],
  };
  await Deno.writeTextFile(`${out}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  await Deno.copyFile(new URL("LICENSE", ROOT), `${out}/LICENSE`);
  await Deno.writeTextFile(
    `${out}/README.md`,
    `# ${deno.name}

An embeddable RISC-V virtual machine: programs compiled to 32-bit RISC-V run
in a deterministic, gas-metered memory sandbox. This is the npm build of the
package published on JSR as \`jsr:${deno.name}\` (same API and documentation).
Under Node and Bun the portable interpreter runs every program, and the
native tier (x86-64 and AArch64 Linux) runs through
[koffi](https://koffi.dev), an optional dependency: without it,
\`tier: "auto"\` moves hot programs from the interpreter to the wasm tier instead, and
\`instance.tierReason\` says why.
The \`./portable\` entry point leaves the native and wasm tiers out.

\`\`\`js
import { Program } from "${deno.name}";
import { fib } from "${deno.name}/samples";

const instance = Program.fromBytes(fib).instantiate();
console.log(instance.exports.fib(20)); // 6765
\`\`\`

TypeScript: programs and instances are disposable (\`using\`), so the
declarations need \`Symbol.dispose\`: \`"lib": ["es2023", "esnext.disposable"]\`
or later (with \`"dom"\` or \`@types/node\`).
`,
  );
  let files = 0;
  for await (const _ of walk(out)) files++;
  return { files, declarations: count };
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("dist/npm", ROOT).pathname;
  const { files, declarations } = await buildNpm(out);
  console.log(`wrote ${out}: ${files} files (${declarations} declaration files)`);
}

/**
 * The npm package as a Node user gets it: `deno task build:npm`, `npm pack`,
 * `npm install` of the tarball into an empty project, then the Node example
 * (examples/node/main.mjs) runs and a TypeScript user's code
 * (examples/node/check.ts) type-checks against the package's declarations
 * with `skipLibCheck` off.
 */
import { assertEquals } from "@std/assert";
import { buildNpm } from "../dist/npm.ts";
import { toolTest } from "./_tiers.ts";

const root = new URL("../", import.meta.url);
const TSC = new URL(".ci/tools/node_modules/typescript/bin/tsc", root).pathname;
const tsc = {
  name: "tsc (npm install in .ci/tools)",
  available: () => Deno.stat(TSC).then(() => true, () => false),
};

async function run(command: string, args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, cwd }).output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(code, 0, `${command} ${args.join(" ")}:\n${out}${new TextDecoder().decode(stderr)}`);
  return out;
}

await toolTest("npm: the packed package installs, runs under Node and type-checks", [
  "node",
  "npm",
  tsc,
], async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pkg = `${dir}/package`, project = `${dir}/project`;
    await buildNpm(pkg);
    const tarball = (await run("npm", ["pack", "--silent", "--pack-destination", dir], pkg)).trim();
    await Deno.mkdir(project);
    await Deno.writeTextFile(`${project}/package.json`, '{ "private": true, "type": "module" }');
    // Not --offline: koffi's registry entry may be missing from npm's cache (.ci/tools installs
    // it from its lock file, which caches the tarball only), and npm then skips it silently.
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", `${dir}/${tarball}`],
      project,
    );
    for (const file of ["main.mjs", "check.ts"]) {
      await Deno.copyFile(new URL(`examples/node/${file}`, root), `${project}/${file}`);
    }
    assertEquals(
      await run("node", ["main.mjs"], project),
      [
        "fib(20) = 6765 on the interpreter",
        "fib(25) = 75025, tier native", // koffi, the optional dependency, installed (x86-64)
        "guest says: Hello from RISC-V!",
        "exit code 0",
        "OutOfGas at pc 0x10ce4",
        "",
      ].join("\n"),
    );
    const config = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        lib: ["es2023", "esnext.disposable", "dom"], // `using` support: Symbol.dispose
        types: [],
      },
      files: ["check.ts"],
    };
    await Deno.writeTextFile(`${project}/tsconfig.json`, JSON.stringify(config));
    await run("node", [TSC, "-p", "tsconfig.json"], project);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

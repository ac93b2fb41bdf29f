/**
 * `deno task bundle [--check]`: builds rvbox's two entry points into single
 * minified modules with esbuild (from npm), for processes that should start
 * fast: Deno loads one module instead of 69 (or 34), which halves the import
 * of a fresh process (README, "Performance").
 *
 *   mod.ts              → dist/rvbox.min.js     (`@rvbox/rvbox/bundle`)
 *   portable.ts         → dist/portable.min.js  (`@rvbox/rvbox/portable/bundle`)
 *   examples/web/app.ts → examples/web/app.js   (the web page's script)
 *
 * Each bundle names its types (`@ts-self-types`: dist/*.d.ts re-export the
 * sources'). The output is byte-reproducible for a given esbuild version;
 * `--check` builds in memory and exits 1 if a committed bundle differs (CI
 * runs it).
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";

const ROOT = new URL("../", import.meta.url);
const BUNDLES: { entry: string; out: string; types?: string; }[] = [
  { entry: "mod.ts", out: "dist/rvbox.min.js", types: "./rvbox.d.ts" },
  { entry: "portable.ts", out: "dist/portable.min.js", types: "./portable.d.ts" },
  // The web page's script: the interpreter, samples and disassembler (examples/web/).
  { entry: "examples/web/app.ts", out: "examples/web/app.js" },
];

/** The bundle of `entry` as text (naming its types when it has any). */
async function build(entry: string, types?: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [new URL(entry, ROOT).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: true,
    keepNames: true, // class names show in errors and stack traces
    legalComments: "none",
    external: ["node:*"], // imported only under Node and Bun (abi/_platform.ts)
    write: false,
    logLevel: "warning",
    banner: {
      js: (types ? `// @ts-self-types="${types}"\n` : "")
        + `// Generated from ${entry} by \`deno task bundle\`: do not edit.`,
    },
  });
  return result.outputFiles[0].text;
}

/** Every bundle as built now, by output path (dist/...). */
export async function buildBundles(): Promise<Map<string, string>> {
  const built = new Map<string, string>();
  try {
    for (const { entry, out, types } of BUNDLES) built.set(out, await build(entry, types));
  } finally {
    await esbuild.stop();
  }
  return built;
}

/** The bundles whose committed file differs from what their entry builds to. */
export async function staleBundles(): Promise<string[]> {
  const stale = [];
  for (const [out, text] of await buildBundles()) {
    const committed = await Deno.readTextFile(new URL(out, ROOT)).catch(() => "");
    if (committed !== text) stale.push(out);
  }
  return stale;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const stale = await staleBundles();
    for (const out of stale) console.error(`${out} is out of date: run \`deno task bundle\``);
    if (stale.length > 0) Deno.exit(1);
    console.log("bundles are up to date");
  } else {
    for (const [out, text] of await buildBundles()) {
      await Deno.writeTextFile(new URL(out, ROOT), text);
      console.log(`wrote ${out} (${text.length} bytes)`);
    }
  }
}

/**
 * `deno task bundle [--check]`: builds rvbox's two entry points into single
 * minified modules with esbuild (from npm), for processes that should start
 * fast: Deno loads one module instead of 62 (or 29), which halves the import
 * of a fresh process (README, "Performance").
 *
 *   mod.ts      → dist/rvbox.min.js     (`@rvbox/rvbox/bundle`)
 *   portable.ts → dist/portable.min.js  (`@rvbox/rvbox/portable/bundle`)
 *
 * Each bundle names its types (`@ts-self-types`: dist/*.d.ts re-export the
 * sources'). The output is byte-reproducible for a given esbuild version;
 * `--check` builds in memory and exits 1 if a committed bundle differs (CI
 * runs it).
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";

const ROOT = new URL("../", import.meta.url);
const BUNDLES: { entry: string; out: string; types: string; }[] = [
  { entry: "mod.ts", out: "dist/rvbox.min.js", types: "./rvbox.d.ts" },
  { entry: "portable.ts", out: "dist/portable.min.js", types: "./portable.d.ts" },
];

/** The bundle of `entry` as text. */
async function build(entry: string, types: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [new URL(entry, ROOT).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: true,
    keepNames: true, // class names show in errors and stack traces
    legalComments: "none",
    write: false,
    logLevel: "warning",
    banner: {
      js:
        `// @ts-self-types="${types}"\n// Generated from ${entry} by \`deno task bundle\`: do not edit.`,
    },
  });
  return result.outputFiles[0].text;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let stale = 0;
  try {
    for (const { entry, out, types } of BUNDLES) {
      const text = await build(entry, types);
      const path = new URL(out, ROOT);
      if (!check) {
        await Deno.writeTextFile(path, text);
        console.log(`wrote ${out} (${text.length} bytes)`);
        continue;
      }
      const committed = await Deno.readTextFile(path).catch(() => "");
      if (committed !== text) {
        console.error(`${out} is not what ${entry} builds to: run \`deno task bundle\``);
        stale++;
      }
    }
  } finally {
    await esbuild.stop();
  }
  if (stale > 0) Deno.exit(1);
  if (check) console.log("bundles are up to date");
}

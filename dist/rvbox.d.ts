// Types of dist/rvbox.min.js: those of mod.ts, which it is built from.
export * from "../mod.ts";

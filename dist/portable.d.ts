// Types of dist/portable.min.js: those of portable.ts, which it is built from.
export * from "../portable.ts";

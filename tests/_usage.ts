/**
 * Resource usage and limits as tests compare and set them: usage after
 * releasing the memory pool, so that what remains is what programs and
 * instances hold (a freed translation's code mapping, for one, stays pooled
 * for the next one), and the refusals every limit must give.
 */
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { type Program, releasePooledMemory, type ResourceLimits } from "../mod.ts";
import { type ResourceUsage, resourceUsage, setResourceLimits } from "../mod.ts";

/** `resourceUsage()` after `releasePooledMemory()`. */
export function heldUsage(): ResourceUsage {
  releasePooledMemory();
  return resourceUsage();
}

/** Runs `fn` with some limits changed, restoring them after. */
export function withLimits(changes: Partial<ResourceLimits>, fn: () => void): void {
  const saved = setResourceLimits({});
  setResourceLimits(changes);
  try {
    fn();
  } finally {
    setResourceLimits(saved);
  }
}

/**
 * Instances of `program` (whose `run()` returns 3) on `tier` over each
 * limit: refused with a RangeError that names the limit — at two more
 * instances than live now, and at every byte and mapping limit set to 0
 * (before anything is mapped) — and a disposed instance makes room. With
 * `auto` (where `"auto"` would use `tier`), an instance over the limit runs
 * on the interpreter instead, and its `tierReason` names the limit.
 */
export function assertLimitsRefuse(program: Program, tier: "native" | "wasm", auto: boolean): void {
  const [count, limit] = tier === "native"
    ? ["nativeInstances", "maxNativeInstances"] as const
    : ["wasmInstances", "maxWasmInstances"] as const;
  const before = heldUsage();
  withLimits({ [limit]: before[count] + 2 }, () => {
    const live = [0, 1].map(() => program.instantiate({}, { tier }));
    const error = assertThrows(() => program.instantiate({}, { tier }), RangeError);
    assertStringIncludes(error.message, limit);
    assertStringIncludes(error.message, "setResourceLimits");
    if (auto) {
      const fallback = program.instantiate({}, { tier: "auto", tierUp: 0 });
      assertEquals([fallback.tier, fallback.run()], ["interpreter", 3]);
      assertStringIncludes(fallback.tierReason, limit);
    }
    assertEquals(resourceUsage()[count], before[count] + 2);
    live[0].dispose();
    const again = program.instantiate({}, { tier: auto ? "auto" : tier, tierUp: 0 });
    assertEquals([again.tier, again.run()], [tier, 3]);
    again.dispose();
    live[1].dispose();
  });
  for (const bytes of ["maxReservedBytes", "maxCommittedBytes", "maxMappings"] as const) {
    withLimits({ [bytes]: 0 }, () => {
      const error = assertThrows(() => program.instantiate({}, { tier }), RangeError);
      assertStringIncludes(error.message, bytes);
    });
  }
}

/**
 * Resource usage as tests compare it: after releasing the memory pool, so
 * that what remains is what programs and instances hold (a freed
 * translation's code mapping, for one, stays pooled for the next one).
 */
import { releasePooledMemory, type ResourceUsage, resourceUsage } from "../mod.ts";

/** `resourceUsage()` after `releasePooledMemory()`. */
export function heldUsage(): ResourceUsage {
  releasePooledMemory();
  return resourceUsage();
}

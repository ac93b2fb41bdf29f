/**
 * The subset of `@std/assert` the tests use, built on `node:assert`.
 *
 * JSR is unreachable from the development machines, so deno.json maps
 * `@std/assert` here. The names and signatures match `@std/assert`, so moving
 * to the real package is a one-line change in deno.json.
 * @module
 */
import nodeAssert from "node:assert";

/** Thrown when an assertion fails. */
export const AssertionError = nodeAssert.AssertionError;

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg?: string): asserts expr {
  nodeAssert.ok(expr, msg);
}

/** Asserts that `expr` is falsy. */
export function assertFalse(expr: unknown, msg?: string): void {
  nodeAssert.ok(!expr, msg ?? `expected a falsy value, got ${String(expr)}`);
}

/** Asserts deep equality (same rules as `@std/assert`: structural, strict types). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** Asserts `Object.is` equality. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  nodeAssert.strictEqual(actual, expected, msg);
}

/** Asserts that a value is neither `null` nor `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  nodeAssert.ok(actual !== null && actual !== undefined, msg ?? "expected a value to exist");
}

/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.ok(actual > expected, msg ?? `expected ${actual} > ${expected}`);
}

/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.ok(actual >= expected, msg ?? `expected ${actual} >= ${expected}`);
}

/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.ok(actual < expected, msg ?? `expected ${actual} < ${expected}`);
}

/** Asserts that `actual` matches `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  nodeAssert.match(actual, expected, msg);
}

/** Asserts that `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    msg ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
  );
}

/** Asserts that every element of `expected` is in `actual`. */
export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const have = Array.from(actual);
  for (const item of Array.from(expected)) {
    nodeAssert.ok(
      have.some((x) => isDeepEqual(x, item)),
      msg ?? `expected array to include ${String(item)}`,
    );
  }
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    nodeAssert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

// deno-lint-ignore no-explicit-any
type Constructor<T = any> = abstract new(...args: any[]) => T;

/** Asserts that `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends Constructor>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  nodeAssert.ok(
    actual instanceof expectedType,
    msg ?? `expected an instance of ${expectedType.name}, got ${describe(actual)}`,
  );
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return String(value);
}

function checkError<E extends Error>(
  error: unknown,
  ErrorClass?: Constructor<E>,
  msgIncludes?: string,
): E {
  if (ErrorClass) assertInstanceOf(error, ErrorClass);
  if (msgIncludes !== undefined) {
    assertStringIncludes((error as Error).message, msgIncludes);
  }
  return error as E;
}

/** Asserts that `fn` throws; returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: Constructor<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  throw new AssertionError({ message: msg ?? "expected the function to throw" });
}

/** Asserts that `fn` returns a promise that rejects; returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: Constructor<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  throw new AssertionError({ message: msg ?? "expected the promise to reject" });
}

/** Fails the test with `msg`. */
export function fail(msg?: string): never {
  throw new AssertionError({ message: msg ?? "failed" });
}

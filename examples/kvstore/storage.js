// @ts-self-types="./storage.d.ts"
// Plain JavaScript, so that hosts in every runtime (Deno, Node, Bun, a web page) import it as it is.
/**
 * The kvstore guest's storage imports over a `Map` of keys to values:
 * `storage_get(key, keyLen, value, valueCap)` copies up to `valueCap` bytes
 * of the value and returns its length (-1 when absent);
 * `storage_set(key, keyLen, value, valueLen)` stores a copy.
 * @param {Map<string, Uint8Array>} storage
 */
export function storageImports(storage) {
  return {
    storage_get: (ctx, keyPtr, keyLen, valuePtr, valueCap) => {
      const value = storage.get(ctx.memory.readString(keyPtr, keyLen));
      if (value === undefined) return -1;
      if (valueCap > 0) ctx.memory.write(valuePtr, value.subarray(0, valueCap));
      return value.length;
    },
    storage_set: (ctx, keyPtr, keyLen, valuePtr, valueLen) => {
      storage.set(ctx.memory.readString(keyPtr, keyLen), ctx.memory.read(valuePtr, valueLen));
    },
  };
}

/**
 * The native tier's FFI layer: W^X code pages, the guest address-space
 * reservation and its protections, and that dispose unmaps everything.
 * Mappings are read from /proc/<pid>/maps through `cat` (Deno guards /proc
 * itself behind --allow-all).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { GuestAddressSpace } from "../jit/address_space.ts";
import { ExecutableCode, pooledMapping } from "../jit/exec_memory.ts";
import { LazyPages } from "../jit/lazy_pages.ts";
import { nativeSupport } from "../jit/mod.ts";
import { Program, releasePooledMemory } from "../mod.ts";
import { buildGuest, DATA, ins } from "./_guest.ts";

const supported = nativeSupport().ok;

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
}

async function mappings(): Promise<Mapping[]> {
  const out = await new Deno.Command("cat", { args: [`/proc/${Deno.pid}/maps`], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
    const [range, perms] = line.split(" ");
    const [start, end] = range.split("-").map((h) => BigInt(`0x${h}`));
    return { start, end, perms };
  });
}

/**
 * Whether a mapping of exactly `[start, start + length)` with `perms` exists. After an unmap,
 * the address may soon hold something else (spawning `cat` maps memory), so only the exact
 * mapping's absence shows that it was released.
 */
async function stillMapped(start: bigint, length: bigint, perms: string): Promise<boolean> {
  return (await mappings()).some((m) =>
    m.start === start && m.end === start + length && m.perms === perms
  );
}

/** Permissions of the mappings covering `[start, start + length)`. */
async function permsOf(start: bigint, length: bigint): Promise<string[]> {
  return (await mappings()).filter((m) => m.start < start + length && m.end > start).map((m) =>
    m.perms
  );
}

Deno.test({
  name: "ExecutableCode: runs, is read-execute and never writable, disposes once",
  ignore: !supported,
  async fn() {
    releasePooledMemory();
    // mov eax, 42; ret
    const code = new ExecutableCode(new Uint8Array([0xb8, 42, 0, 0, 0, 0xc3]));
    const signature = { parameters: [], result: "i32" } as const;
    const fn = new Deno.UnsafeFnPointer(
      code.pointer as unknown as Deno.PointerObject<typeof signature>,
      signature,
    );
    assertEquals(fn.call(), 42);
    assertEquals(await permsOf(BigInt(code.address), BigInt(code.length)), ["r-xp"]);
    code.dispose();
    code.dispose();
    // Pooled: the next code of a similar size goes into the same pages, made writable only
    // while it is copied; what is left of the old code becomes int3.
    const idle = pooledMapping(3);
    assertEquals(idle?.pointer, code.pointer);
    const again = new ExecutableCode(new Uint8Array([0x31, 0xc0, 0xc3]), idle); // xor eax, eax; ret
    assertEquals(
      new Deno.UnsafeFnPointer(
        again.pointer as unknown as Deno.PointerObject<typeof signature>,
        signature,
      )
        .call(),
      0,
    );
    const view = new Deno.UnsafePointerView(again.pointer as unknown as Deno.PointerObject);
    assertEquals([3, 4, 5, 6].map((at) => view.getUint8(at)), [0xcc, 0xcc, 0xcc, 0]);
    assertEquals(await permsOf(BigInt(again.address), BigInt(again.length)), ["r-xp"]);
    again.dispose();
    releasePooledMemory();
    assertEquals(await stillMapped(BigInt(code.address), BigInt(code.length), "r-xp"), false);
  },
});

Deno.test({
  name: "LazyPages: whole pages, zeroed, read-write and not executable; dispose unmaps once",
  ignore: !supported,
  async fn() {
    const pages = new LazyPages(3 * 4096 + 1);
    assertEquals(pages.length, 4 * 4096);
    const address = Deno.UnsafePointer.value(pages.pointer as unknown as Deno.PointerObject);
    assertEquals(await permsOf(address, BigInt(pages.length)), ["rw-p"]);
    let bytes = new Uint8Array(pages.view());
    assert(bytes.every((b) => b === 0));
    bytes[pages.length - 1] = 1;
    bytes = new Uint8Array(0); // no view may outlive the pages
    pages.dispose();
    pages.dispose();
    assertEquals(await stillMapped(address, BigInt(pages.length), "rw-p"), false);
    assertThrows(() => pages.view(), Error, "freed");
  },
});

Deno.test({
  name: "GuestAddressSpace: 4 GiB reserved without access; mapped pages get exactly their rights",
  ignore: !supported,
  async fn() {
    const space = new GuestAddressSpace(4096);
    const base = Deno.UnsafePointer.value(space.basePointer as unknown as Deno.PointerObject);
    assertEquals(await permsOf(base, 1n << 32n), ["---p"]);
    space.map(0x10000, 0x12000, true);
    space.map(0x20000, 0x21000, false);
    const perms = await mappings();
    const at = (guest: number) =>
      perms.find((m) => m.start <= base + BigInt(guest) && base + BigInt(guest) < m.end)?.perms;
    assertEquals([at(0), at(0x10000), at(0x11fff), at(0x12000), at(0x20000)], [
      "---p",
      "rw-p",
      "rw-p",
      "---p",
      "r--p",
    ]);
    assertEquals(await permsOf(base - 4096n, 4096n), ["rw-p"]); // the state block
    const a = new Uint8Array(space.view(0x10000, 0x12000));
    const b = new Uint8Array(space.view(0x11000, 0x12000));
    a[0x1004] = 7;
    assertEquals(b[4], 7);
    const held = (await mappings()).filter((m) => m.start < base + (1n << 32n) && m.end > base);
    space.dispose();
    space.dispose();
    for (const m of held) {
      assertEquals(await stillMapped(m.start, m.end - m.start, m.perms), false);
    }
  },
});

Deno.test({
  name: "native instances: no writable+executable page, and dispose unmaps the address space",
  ignore: !supported,
  async fn() {
    const program = Program.fromBytes(buildGuest({ code: [ins.ret()], data: new Uint8Array(64) }));
    const before = await mappings();
    const key = (m: Mapping) => `${m.start}-${m.end}`;
    const old = new Set(before.map(key));
    const instances = Array.from({ length: 8 }, () => program.instantiate({}, { tier: "native" }));
    for (const instance of instances) assertEquals(instance.run(), 0);
    // V8 may keep its own RWX pages; none of the mappings rvbox added may be writable and executable.
    const added = (await mappings()).filter((m) => !old.has(key(m)));
    assert(added.length > 0);
    assert(added.every((m) => !m.perms.startsWith("rwx")), "rvbox created an rwx mapping");
    assertEquals(instances[0].memory.readU8(DATA), 0);
    // Dispose drops its views of the mapping instead of detaching them: one
    // detached ArrayBuffer makes V8 check every typed-array access in the
    // process for detachment from then on (10-15% slower, measured).
    const proto = ArrayBuffer.prototype as ArrayBuffer & Record<string, unknown>;
    const originals = {
      transfer: proto.transfer,
      transferToFixedLength: proto.transferToFixedLength,
    };
    const detached: string[] = [];
    for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
      proto[name] = function(this: ArrayBuffer, ...args: unknown[]) {
        detached.push(name);
        return (originals[name] as (...a: unknown[]) => ArrayBuffer).apply(this, args);
      };
    }
    try {
      for (const instance of instances) instance.dispose();
    } finally {
      Object.assign(proto, originals);
    }
    assertEquals(detached, []);
    const internal = instances[0].memory as unknown as { bytes: Uint8Array; };
    assertEquals(internal.bytes.length, 0, "the view of unmapped memory is dropped");
    assertThrows(() => instances[0].memory.readU8(DATA), Error, "disposed");
    // Each instance held a 4 GiB reservation; none is left (the shared code stays with the program).
    const huge = (await mappings()).filter((m) => !old.has(key(m)) && m.end - m.start >= 1n << 32n);
    assertEquals(huge, []);
  },
});

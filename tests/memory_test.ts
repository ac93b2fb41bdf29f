/** Memory layout rules (abi/README.md §3), independent of any tier. */
import { assertEquals, assertThrows } from "@std/assert";
import type { LoadedSegment, ProgramImage } from "../abi/load.ts";
import { GuestMemory } from "../abi/memory.ts";

function segment(
  start: number,
  end: number,
  perms: string,
  data = new Uint8Array(),
): LoadedSegment {
  return {
    start,
    end,
    vaddr: start,
    data,
    read: true,
    write: perms.includes("w"),
    exec: perms.includes("x"),
  };
}

function image(...segments: LoadedSegment[]): ProgramImage {
  return { segments } as unknown as ProgramImage;
}

/** The SDK layout: code, rodata, 64 KiB stack gap, data. */
const sdk = image(
  segment(0x10000, 0x12000, "rx"),
  segment(0x12000, 0x13000, "r"),
  segment(0x23000, 0x24000, "rw", new Uint8Array([1, 2, 3])),
);

Deno.test("SDK layout: stack below data, one read window and one write window", () => {
  const m = new GuestMemory(sdk, { heapSize: 0x10000 });
  assertEquals(m.stackTop, 0x23000);
  assertEquals(m.heapStart, 0x24000);
  assertEquals([m.readStart, m.readEnd], [0x10000, 0x24000]);
  assertEquals([m.writeStart, m.writeEnd], [0x13000, 0x24000]);
  assertEquals(m.readU8(0x23001), 2);
  m.sbrk(0x100);
  assertEquals([m.readEnd, m.writeEnd], [0x24100, 0x24100]);
});

Deno.test("a stack that does not fit below data goes above the largest heap", () => {
  const lld = image(
    segment(0x10000, 0x11000, "r"),
    segment(0x11000, 0x12000, "rx"),
    segment(0x12000, 0x13000, "rw"),
  );
  const m = new GuestMemory(lld, { heapSize: 0x3000, stackSize: 0x2000 });
  assertEquals(m.heapStart, 0x13000);
  assertEquals(m.stackTop, 0x18000);
  assertEquals(m.accessible(0x15ffc, 4, true), false);
  assertEquals(m.accessible(0x16000, 4, true), true);
  // The heap does not reach the stack until it has grown to its limit.
  assertEquals(m.accessible(0x13000, 1, false), false);
  assertEquals(m.sbrk(0x3000), 0x13000);
  assertEquals(m.accessible(0x13000, 0x5000, true), true);
});

Deno.test("accesses are checked byte-exactly, across adjacent regions", () => {
  const m = new GuestMemory(sdk, { heapSize: 0x10000 });
  assertEquals(m.accessible(0x11ffe, 4, false), true); // code into rodata
  assertEquals(m.accessible(0x12ffe, 4, true), false); // rodata into stack
  assertEquals(m.accessible(0x12ffe, 4, false), true);
  assertEquals(m.accessible(0x23ffe, 4, true), false); // data into unallocated heap
  assertEquals(m.accessible(0xfffffffe, 4, false), false); // wraps
  assertEquals(m.accessible(0, 1, false), false);
});

Deno.test("sbrk stays within [heapStart, heapStart + heapSize]", () => {
  const m = new GuestMemory(sdk, { heapSize: 0x2000 });
  assertEquals(m.sbrk(-1), -1);
  assertEquals(m.sbrk(0x2001), -1);
  assertEquals(m.sbrk(0x2000), 0x24000);
  assertEquals(m.sbrk(-0x1000), 0x26000);
  assertEquals(m.brk, 0x25000);
});

Deno.test("host helpers throw RangeError outside accessible memory", () => {
  const m = new GuestMemory(sdk, { heapSize: 0x1000 });
  assertThrows(() => m.read(0x9000, 4), RangeError, "not readable");
  assertThrows(() => m.writeU32(0x12000, 1), RangeError, "not writable");
  assertThrows(() => m.read(0x23000, -1), RangeError);
  m.write(0, new Uint8Array()); // empty accesses are valid anywhere (C passes NULL, 0)
  assertEquals(m.read(0, 0).length, 0);
  m.writeString(0x23010, "héllo\0");
  assertEquals(m.readString(0x23010), "héllo");
  assertEquals(m.readString(0x23010, 2), "h\ufffd"); // a cut UTF-8 sequence decodes to U+FFFD
});

Deno.test("limits: memory options are validated", () => {
  assertThrows(() => new GuestMemory(sdk, { stackSize: -1 }), RangeError);
  assertThrows(() => new GuestMemory(sdk, { heapSize: 2 ** 31 }), RangeError);
  assertThrows(() => new GuestMemory(sdk, { heapSize: 0.5 }), RangeError);
});

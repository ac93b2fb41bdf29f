/** Every rule of abi/README.md §2: each malformed program gives a ProgramError saying why. */
import { assertEquals, assertThrows } from "@std/assert";
import { Program, ProgramError } from "../mod.ts";
import { buildGuest, type GuestSpec, ins } from "./_guest.ts";

const valid: GuestSpec = {
  code: [ins.li(10, 0), ins.ecall(), ins.ret()],
  imports: [{ at: 1, name: "rvbox_exit" }],
  exports: [{ at: 0, name: "start" }],
};
const PHOFF = 52;

/** The valid program with `patch` applied to a copy of its bytes. */
function patched(patch: (view: DataView, bytes: Uint8Array) => void, spec = valid): Uint8Array {
  const bytes = buildGuest(spec);
  patch(new DataView(bytes.buffer), bytes);
  return bytes;
}

/** Offset of field `at` of program header `index`. */
const ph = (index: number, at: number) => PHOFF + 32 * index + at;

const CASES: [string, Uint8Array, string][] = [
  ["empty file", new Uint8Array(), "too small"],
  ["bad magic", patched((v) => v.setUint8(1, 0)), "bad magic"],
  ["64-bit class", patched((v) => v.setUint8(4, 2)), "32-bit"],
  ["big-endian", patched((v) => v.setUint8(5, 2)), "little-endian"],
  ["ELF version", patched((v) => v.setUint8(6, 2)), "version"],
  ["shared object", patched((v) => v.setUint16(16, 3, true)), "ET_EXEC"],
  ["x86-64 machine", patched((v) => v.setUint16(18, 62, true)), "not a RISC-V"],
  ["no program headers", patched((v) => v.setUint16(44, 0, true)), "no program headers"],
  ["program header size", patched((v) => v.setUint16(42, 56, true)), "program header size"],
  [
    "program headers outside the file",
    patched((v) => v.setUint32(28, 0xfffffff0, true)),
    "outside",
  ],
  [
    "segment bytes outside the file",
    patched((v) => v.setUint32(ph(0, 4), 0x7fffffff, true)),
    "outside",
  ],
  [
    "file size above memory size",
    patched((v) => v.setUint32(ph(0, 20), 4, true)),
    "exceeds memory size",
  ],
  ["address range wraps", patched((v) => v.setUint32(ph(2, 8), 0xfffffff8, true)), "wraps"],
  [
    "writable and executable",
    patched((v) => v.setUint32(ph(0, 24), 7, true)),
    "writable and executable",
  ],
  ["dynamic segment", patched((v) => v.setUint32(ph(1, 0), 2, true)), "dynamically linked"],
  ["interpreter segment", patched((v) => v.setUint32(ph(1, 0), 3, true)), "dynamically linked"],
  ["segment in the first page", patched((v) => v.setUint32(ph(1, 8), 0x800, true)), "first page"],
  [
    "segment above the address limit",
    patched((v) => v.setUint32(ph(2, 8), 0xffff0000, true)),
    "reaches above",
  ],
  ["segments share a page", patched((v) => v.setUint32(ph(1, 8), 0x10800, true)), "share a page"],
  [
    "no executable segment",
    patched((v) => v.setUint32(ph(0, 24), 4, true)),
    "no executable segment",
  ],
  [
    "code at an odd address",
    patched((v) => v.setUint32(ph(0, 8), 0x10001, true)),
    "not 2-byte aligned",
  ],
  ["entry not an instruction", patched((v) => v.setUint32(24, 0x10002, true)), "entry point"],
  ["entry outside code", patched((v) => v.setUint32(24, 0x11000, true)), "entry point"],
  [
    "section headers outside the file",
    patched((v) => v.setUint32(32, 0xffffff00, true)),
    "outside",
  ],
  ["section header size", patched((v) => v.setUint16(46, 64, true)), "section header size"],
  ["section name table index", patched((v) => v.setUint16(50, 99, true)), "out of range"],
  [
    "import site not an ecall",
    buildGuest({ ...valid, imports: [{ at: 0, name: "x" }] }),
    "not an ecall",
  ],
  [
    "import site listed twice",
    buildGuest({ ...valid, imports: [{ at: 1, name: "a" }, { at: 1, name: "b" }] }),
    "listed twice",
  ],
  [
    "import name not an identifier",
    buildGuest({ ...valid, imports: [{ at: 1, name: "a b" }] }),
    "invalid name",
  ],
  [
    "export not an instruction",
    buildGuest({ ...valid, exports: [{ at: 99, name: "far" }] }),
    "not an instruction",
  ],
  [
    "export listed twice",
    buildGuest({ ...valid, exports: [{ at: 0, name: "f" }, { at: 2, name: "f" }] }),
    "listed twice",
  ],
];

for (const [name, bytes, message] of CASES) {
  Deno.test(`malformed program: ${name}`, () => {
    assertThrows(() => Program.fromBytes(bytes), ProgramError, message);
  });
}

Deno.test("the unpatched program loads", () => {
  const program = Program.fromBytes(buildGuest(valid));
  assertEquals([program.imports, program.exports], [["rvbox_exit"], ["start"]]);
  assertEquals(program.instantiate().run(), 0);
});

Deno.test("a PT_TLS segment is ignored (the guest sets up tp itself)", () => {
  const program = Program.fromBytes(patched((v) => v.setUint32(ph(1, 0), 7, true)));
  assertEquals(program.segments.length, 2);
  assertEquals(program.instantiate().run(), 0);
});

Deno.test("a truncated import record is a ProgramError", () => {
  const bytes = buildGuest(valid);
  // Find the import record (the ecall address 0x10004) and cut the name's NUL.
  const at = bytes.findIndex((_, k) =>
    bytes[k] === 4 && bytes[k + 1] === 0 && bytes[k + 2] === 1 && bytes[k + 3] === 0
  );
  bytes.fill(0x41, at + 4, at + 16);
  assertThrows(() => Program.fromBytes(bytes), ProgramError);
});

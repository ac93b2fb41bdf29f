/**
 * `.rvbox` blobs (abi/README.md §7): every example and benchmark guest
 * links to a blob that loads into the same program image as its ELF file,
 * byte for byte reproducibly, and runs identically on every tier; the
 * operand forms agree with the RISC-V decoder on every compressed parcel;
 * truncated and corrupted blobs are a ProgramError or a program that loads
 * and runs into a result or a Trap, and whatever loads is exactly what the
 * ELF pipeline derives from the code bytes it holds. `RVBOX_FUZZ_CASES`
 * raises the number of corruptions.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLess,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  decodeOne,
  FORM_LAYOUT,
  FORM_MASK,
  FORM_MATCH,
  FORM_OP,
  formOf,
  operandOf,
} from "../abi/_blob_forms.ts";
import { isBlob } from "../abi/blob.ts";
import { computeBlocks, decodeCode, type DecodedCode } from "../abi/code.ts";
import { decodeInstruction, newDecodedInstruction } from "../abi/decode.ts";
import type { ProgramImage } from "../abi/load.ts";
import { main } from "../cli.ts";
import {
  type Imports,
  LinkError,
  linkProgram,
  Program,
  ProgramError,
  type Tier,
  Trap,
} from "../mod.ts";
import { buildGuest, ins } from "./_guest.ts";
import { mulberry32 } from "./_random.ts";
import { envVar, TIERS, tierTest } from "./_tiers.ts";

const root = new URL("../", import.meta.url);

/** Every committed guest: examples/*\/*.elf and bench/guests/*.elf. */
function guestFiles(): string[] {
  const files: string[] = [];
  const add = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, root))) {
      if (entry.isDirectory) add(`${dir}${entry.name}/`);
      else if (entry.name.endsWith(".elf")) files.push(`${dir}${entry.name}`);
    }
  };
  add("examples/");
  add("bench/guests/");
  return files.sort();
}
const GUESTS = guestFiles();
const read = (path: string) => Deno.readFileSync(new URL(path, root));

/** The image without the file size, which is the blob's own. */
function comparable(image: ProgramImage) {
  // A blob keeps no symbols (abi/README.md §7).
  const { fileSize: _, symbols: _symbols, code, ...rest } = image;
  return { ...rest, code: plainCode(code) };
}

/** Every field of `code` as a plain object (decoding it all), for deep comparison. */
function plainCode(code: DecodedCode) {
  const { count, start, end, pc, size, flow, target, leader, segmentEnd, entryCost } = code;
  const { hostcall, chunks, slots, op, rd, rs1, rs2, imm } = code;
  return {
    ...{ count, start, end, pc, size, flow, target, leader, segmentEnd, entryCost },
    ...{ hostcall, chunks, slots, op, rd, rs1, rs2, imm },
  };
}

Deno.test("blob: every guest links to a smaller blob that loads into the ELF's image", () => {
  assert(GUESTS.length >= 20, `found only ${GUESTS.length} guests`);
  for (const path of GUESTS) {
    const elf = read(path);
    const blob = linkProgram(elf);
    assert(isBlob(blob), path);
    const fromElf = Program.fromBytes(elf);
    // Under half of a stripped guest's file; the C-library examples are dense code and symbols.
    assertLess(blob.length, fromElf.symbols.length > 0 ? elf.length * 0.6 : elf.length / 2, path);
    const fromBlob = Program.fromBytes(blob);
    assertEquals(fromElf.format, "elf");
    assertEquals(fromBlob.format, "rvbox");
    assertEquals(comparable(fromBlob.image), comparable(fromElf.image), path);
    assertEquals(fromBlob.image.fileSize, blob.length);
    assertEquals(fromBlob.symbols, []);
    // Reproducible: linking again, or linking the blob itself, gives the same bytes.
    assertEquals(linkProgram(elf), blob, path);
    assertEquals(linkProgram(blob), blob, path);
  }
});

/** Non-built-in imports answered with 0. */
function stubImports(program: Program): Imports {
  return Object.fromEntries(
    program.imports.filter((n) => !n.startsWith("rvbox_")).map((n) => [n, () => 0]),
  );
}

/** What a program does with a small gas budget: the command, then each export. */
function transcript(program: Program, tier: Tier): unknown[] {
  const out: unknown[] = [];
  const printed: number[] = [];
  const instance = program.instantiate(stubImports(program), {
    tier,
    gas: 3_000_000,
    print: (bytes) => printed.push(...bytes),
  });
  const calls: [string, () => unknown][] = [["run", () => instance.run()]];
  for (const name of program.exports) {
    calls.push([name, () => instance.exports[name](1, 2, 3)]);
  }
  for (const [name, call] of calls) {
    instance.gas = 3_000_000;
    try {
      out.push(name, call(), instance.gas);
    } catch (e) {
      if (!(e instanceof Trap)) throw e;
      out.push(name, e.kind, e.pc, [...e.registers], instance.gas);
    }
  }
  out.push(printed.length, printed.slice(0, 200));
  return out;
}

tierTest("blob: every guest runs identically from its blob", (tier) => {
  for (const path of GUESTS) {
    const elf = read(path);
    const expected = transcript(Program.fromBytes(elf), tier);
    assertEquals(transcript(Program.fromBytes(linkProgram(elf)), tier), expected, path);
  }
});

Deno.test("blob: canonical forms agree with the RISC-V decoder on every compressed parcel", () => {
  const d = newDecodedInstruction();
  for (const rve of [false, true]) {
    const w = rve ? 4 : 5;
    let canonical = 0;
    for (let parcel = 0; parcel < 0x10000; parcel++) {
      if ((parcel & 3) === 3) continue;
      decodeInstruction(parcel, 0, rve, d);
      if (d.op === 0) continue;
      // Every valid parcel has a canonical form that gives it back exactly.
      const f = formOf(d.op, 2, parcel);
      const v = operandOf(FORM_LAYOUT[f], w, d.rd, d.rs1, d.rs2, d.imm, parcel);
      const back = decodeOne(f, v, w);
      assertEquals(back, { rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm, bits: parcel });
      canonical++;
    }
    assert(canonical > 20_000, `${canonical}`);
    // Every operand a compressed form accepts decodes to exactly its op and fields.
    for (let f = 63; f <= 88; f++) {
      for (let v = 0; v < 1 << 12; v++) {
        const r = decodeOne(f, v, w);
        if (r === undefined) continue;
        decodeInstruction(r.bits, 0, rve, d);
        const got = { op: d.op, size: d.size, rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm };
        const { bits: _, ...fields } = r;
        assertEquals(got, { op: FORM_OP[f], size: 2, ...fields }, `form ${f} operand ${v}`);
        assertEquals(r.bits >>> 16, 0);
      }
    }
  }
});

Deno.test("blob: 32-bit forms agree with the RISC-V decoder (sampled)", () => {
  const d = newDecodedInstruction();
  const rnd = mulberry32(11);
  const word = () => (Math.floor(rnd() * 2 ** 32) | 3) >>> 0;
  for (const rve of [false, true]) {
    const w = rve ? 4 : 5;
    for (let n = 0; n < 200_000; n++) {
      // Random words, half of them forced into a random op's encoding.
      let bits = word();
      if (n & 1) {
        const op = 1 + Math.floor(rnd() * 60);
        bits = (FORM_MATCH[op] | (bits & ~FORM_MASK[op])) >>> 0;
      }
      decodeInstruction(bits & 0xffff, bits >>> 16, rve, d);
      if (d.op === 0) continue;
      const v = operandOf(FORM_LAYOUT[d.op], w, d.rd, d.rs1, d.rs2, d.imm, bits);
      assertEquals(decodeOne(d.op, v, w), {
        rd: d.rd,
        rs1: d.rs1,
        rs2: d.rs2,
        imm: d.imm,
        bits: bits | 0,
      });
    }
    for (let f = 1; f <= 60; f++) {
      for (let n = 0; n < 3000; n++) {
        const r = decodeOne(f, Math.floor(rnd() * 2 ** (10 + (n % 16))), w);
        if (r === undefined) continue;
        decodeInstruction(r.bits & 0xffff, r.bits >>> 16, rve, d);
        const { bits: _, ...fields } = r;
        assertEquals(
          { op: d.op, size: d.size, rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm },
          { op: f, size: 4, ...fields },
        );
      }
    }
  }
});

/** `elf` with the file size of segment `k` set to `filesz` (less than it was). */
function withFileSize(elf: Uint8Array, k: number, filesz: number): Uint8Array {
  const out = elf.slice();
  new DataView(out.buffer).setUint32(52 + 32 * k + 16, filesz, true);
  return out;
}

/** `elf` with the flags of segment `k` set to `flags`. */
function withFlags(elf: Uint8Array, k: number, flags: number): Uint8Array {
  const out = elf.slice();
  new DataView(out.buffer).setUint32(52 + 32 * k + 24, flags, true);
  return out;
}

/** Code the canonical forms cannot give back, so it travels raw; and what they can. */
const ODD_CODE = [
  0x00000000, // invalid word
  { half: 0x0000 }, // the all-zero parcel (invalid)
  { half: 0x0001 }, // c.nop
  0x0ff0000f, // fence iorw, iorw
  0x8330000f, // fence.tso
  0x0000100f, // fence.i
  0x06b5262f, // amoswap.w.aqrl a2, a1, (a0)
  0x1605262f, // lr.w.aqrl a2, (a0)
  0x00100013 | (16 << 7), // addi x16, x0, 1 (invalid in RV32E)
  { half: 0x4501 }, // c.li a0, 0
  { half: 0x8082 }, // c.jr ra
  { half: 0x9002 }, // c.ebreak
  0xffffffff, // invalid word
  ins.addi(10, 0, -2048),
  ins.lui(11, 0xfffff000),
  ins.jal(0, -8),
  ins.beq(10, 11, 4094),
  0x00000073, // ecall
  0x00100073, // ebreak
];

Deno.test("blob: raw instructions, tails and several code segments load as their ELF does", () => {
  const cases: Uint8Array[] = [];
  for (const rve of [false, true]) {
    const elf = buildGuest({
      code: ODD_CODE,
      rodata: Uint8Array.of(0x13, 0x05, 0x10, 0x00, 0x82, 0x80, 0x03),
      rve,
      exports: [{ at: 9, name: "mid" }],
    });
    const codeSize = ODD_CODE.reduce<number>((n, c) => n + (typeof c === "number" ? 4 : 2), 0);
    cases.push(elf);
    // Cut-off instructions at the end of the code: 1, 2 and 3 bytes.
    for (const cut of [1, 2, 3]) cases.push(withFileSize(elf, 0, codeSize - cut));
    // Read-only data that is code too: a second code segment, ending in a cut-off parcel.
    cases.push(withFlags(elf, 1, 5));
  }
  for (const elf of cases) {
    const image = Program.fromBytes(elf).image;
    const blob = linkProgram(elf);
    assertEquals(comparable(Program.fromBytes(blob).image), comparable(image));
    assertEquals(linkProgram(blob), blob);
  }
});

/** Overwrites 1–8 random 16-bit parcels of the code segment of `elf` (segment 0). */
function corruptCode(elf: Uint8Array, rnd: () => number): Uint8Array {
  const out = elf.slice();
  const view = new DataView(out.buffer);
  const offset = view.getUint32(52 + 4, true), size = view.getUint32(52 + 16, true);
  for (let n = 1 + Math.floor(rnd() * 8); n > 0; n--) {
    const at = offset + (Math.floor(rnd() * (size >> 1)) << 1);
    view.setUint16(at, Math.floor(rnd() * 0x10000), true);
  }
  return out;
}

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 3000);
const SEEDS = ["hello", "kvstore", "fib"].flatMap((name) =>
  ["rv32em", "rv32imac"].map((isa) => read(`examples/${name}/${name}.${isa}.elf`))
);

const CODE_CASES = Math.ceil(CASES / 6);

Deno.test(`blob: ${CODE_CASES} ELF files with corrupted code link to blobs of the same image`, () => {
  let compared = 0;
  for (let i = 0; i < CODE_CASES; i++) {
    const elf = corruptCode(SEEDS[i % SEEDS.length], mulberry32(i));
    let image: ProgramImage;
    try {
      image = Program.fromBytes(elf).image;
    } catch (e) {
      assertInstanceOf(e, ProgramError); // e.g. an import site no longer an ecall
      continue;
    }
    assertEquals(
      comparable(Program.fromBytes(linkProgram(elf)).image),
      comparable(image),
      `case ${i}`,
    );
    compared++;
  }
  assert(compared > CODE_CASES / 2, `${compared} of ${CODE_CASES}`);
});

/** The code the ELF pipeline derives from the blob's own segments, with its import sites. */
function derivedCode(image: ProgramImage): DecodedCode {
  const code = decodeCode(
    image.segments.filter((s) => s.exec && s.data.length > 0).map((s) => ({
      start: s.vaddr,
      bytes: s.data,
    })),
    image.rve,
  );
  code.hostcall.set(image.code.hostcall);
  computeBlocks(code, [image.entry, ...image.exports.values()]);
  return code;
}

/** One corruption of a blob: bytes changed, inserted or removed, or a truncation. */
function mutate(blob: Uint8Array, rnd: () => number): Uint8Array {
  const at = Math.floor(rnd() * blob.length);
  const byte = () => [0, 1, 0x3f, 0x7f, 0x80, 0xff, Math.floor(rnd() * 256)][Math.floor(rnd() * 7)];
  switch (Math.floor(rnd() * 6)) {
    case 0: { // a few bytes anywhere
      const out = blob.slice();
      for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) {
        out[Math.floor(rnd() * out.length)] = byte();
      }
      return out;
    }
    case 1: { // a byte of the header and segment table
      const out = blob.slice();
      out[Math.floor(rnd() * Math.min(48, out.length))] = byte();
      return out;
    }
    case 2: // a byte inserted
      return Uint8Array.from([...blob.subarray(0, at), byte(), ...blob.subarray(at)]);
    case 3: // a byte removed
      return Uint8Array.from([...blob.subarray(0, at), ...blob.subarray(at + 1)]);
    case 4: // truncated
      return blob.subarray(0, at);
    default: { // one byte of the code section's second half (operands)
      const out = blob.slice();
      out[out.length - 1 - Math.floor(rnd() * (out.length >> 1))] = byte();
      return out;
    }
  }
}

Deno.test(`blob: ${CASES} corrupted blobs give ProgramError or what their bytes mean`, () => {
  const blobs = SEEDS.map((elf) => linkProgram(elf));
  let loaded = 0;
  for (let i = 0; i < CASES; i++) {
    const bytes = mutate(blobs[i % blobs.length], mulberry32(i));
    let program: Program;
    try {
      program = Program.fromBytes(bytes);
    } catch (e) {
      assertInstanceOf(e, ProgramError, `case ${i}: ${e}`);
      continue;
    }
    loaded++;
    // What loads is exactly what the ELF pipeline makes of the code bytes it holds.
    const { code } = program.image;
    for (let k = 0; k < code.count; k++) if (code.hostcall[k] >= 0) assertEquals(code.op[k], 40);
    assertEquals(plainCode(code), plainCode(derivedCode(program.image)), `case ${i}`);
    for (const tier of TIERS) {
      try {
        program.instantiate(stubImports(program), { tier, gas: 100_000, print: () => {} }).run();
      } catch (e) {
        assert(
          e instanceof Trap || e instanceof LinkError || e instanceof RangeError,
          `case ${i}: ${e}`,
        );
      }
    }
  }
  console.log(`corrupted blobs: ${CASES} cases, ${loaded} loaded and ran`);
  assert(loaded > CASES / 20, "the corruptions should exercise both paths");
});

Deno.test("blob: every truncation is a ProgramError", () => {
  for (const elf of SEEDS) {
    const blob = linkProgram(elf);
    for (let n = 0; n < blob.length; n++) {
      assertThrows(() => Program.fromBytes(blob.subarray(0, n)), ProgramError);
    }
  }
});

Deno.test("blob: version, magic and header errors are clear", () => {
  const blob = linkProgram(SEEDS[0]);
  const at = (k: number, value: number) => {
    const out = blob.slice();
    out[k] = value;
    return out;
  };
  const error = (bytes: Uint8Array) => assertThrows(() => Program.fromBytes(bytes), ProgramError);
  assertStringIncludes(error(at(6, 2)).message, "version 2");
  assertStringIncludes(error(at(6, 2)).message, "reads version 1");
  assertStringIncludes(error(at(7, 0x80)).message, "flags");
  assertStringIncludes(error(Uint8Array.from([...blob, 0])).message, "after the exports");
  assertStringIncludes(error(blob.subarray(0, 7)).message, "truncated");
  // Neither magic: the ELF loader's error.
  assertStringIncludes(error(at(1, 0x41)).message, "not an ELF file");
});

Deno.test("blob: the loader limits apply, before anything large is allocated", () => {
  const blob = linkProgram(read("bench/guests/contract.rv32imac.elf"));
  const error = (options: object) =>
    assertThrows(() => Program.fromBytes(blob, options), ProgramError).message;
  assertStringIncludes(error({ maxCodeSize: 1000 }), "more than 1000 bytes of code");
  assertStringIncludes(error({ maxFileSize: 1000 }), "more than the limit of 1000");
  assertStringIncludes(error({ maxImageSize: 4096 }), "more than the limit of 4096");
  // A tiny blob describing 16 MiB of code in one segment is refused by its size.
  const header = [0, 0x72, 0x76, 0x62, 0x6f, 0x78, 1, 0];
  const uv = (n: number) => {
    const out = [];
    for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
    return [...out, n];
  };
  const huge = Uint8Array.from([
    ...header,
    ...uv(1 << 23), // instructions
    ...uv(1), // one segment
    ...uv(0x10000),
    ...uv(16 << 20),
    5, // r-x
    ...uv(16 << 20),
    ...uv(4), // a 4-byte code section
    0,
    0,
    0,
    0,
  ]);
  const started = performance.now();
  assertStringIncludes(
    assertThrows(() => Program.fromBytes(huge), ProgramError).message,
    "cannot hold",
  );
  assertLess(performance.now() - started, 50);
});

Deno.test("blob: `rvbox link` writes the blob, and every command reads it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const elf = "examples/hello/hello.rv32em.elf";
    const out = `${dir}/hello.rvbox`;
    assertEquals(await main(["link", new URL(elf, root).pathname, "-o", out]), 0);
    assertEquals(await Deno.readFile(out), linkProgram(read(elf)));
    assertEquals(await main(["inspect", out]), 0);
    assertEquals(await main(["link", new URL("README.md", root).pathname, "-o", out]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Byte templates for the longer sequences the backend emits often (memory
 * window checks, the inline indirect-jump lookup and its cold paths),
 * encoded once by the assembler and then copied and patched: translation
 * speed is part of the whole cycle.
 * @module
 */
import { State } from "../state.ts";
import { BASE, GAS } from "./_regs.ts";
import { ALU, CC, RAX, RDX, SHIFT, X64Assembler } from "./asm.ts";

/** A template (copied with `template`) and the offsets of its patchable fields. */
export interface Template {
  /** The encoded bytes. */
  readonly bytes: Uint8Array;
  /** Offsets of 32-bit immediates, in emission order. */
  readonly imm32: readonly number[];
  /** Offsets of rel32 branch fields. */
  readonly rel32: readonly number[];
}

type Emit = (
  a: X64Assembler,
  far: number,
  fields: { imm32: number[]; rel32: number[]; },
) => void;

/** Encodes with `emit`, branching to a label kept far away so every branch is rel32. */
function make(emit: Emit): Template {
  const a = new X64Assembler(256);
  const far = a.label();
  const fields = { imm32: [] as number[], rel32: [] as number[] };
  emit(a, far, fields);
  const length = a.offset;
  a.nop(200);
  a.bind(far);
  const bytes = a.finish().slice(0, length);
  return { bytes, ...fields };
}

const field = (offset: number) => ({ base: BASE, disp: offset });

/** `cmp eax, [lo]; jb slow; cmp eax, [last]; ja slow` for a `width`-byte read or write. */
function windowCheck(width: number, write: boolean): Template {
  const lo = write ? State.WRITE_LO : State.READ_LO;
  const last = lo + (width === 1 ? 4 : width === 2 ? 8 : 12);
  return make((a, far, f) => {
    a.alu32RM(ALU.CMP, RAX, field(lo));
    a.jcc(CC.B, far);
    f.rel32.push(a.offset - 4);
    a.alu32RM(ALU.CMP, RAX, field(last));
    a.jcc(CC.A, far);
    f.rel32.push(a.offset - 4);
  });
}

/**
 * Window checks by `(width >> 1) * 2 + (write ? 1 : 0)`; both rel32s go to
 * the access's cold path (`call` the slow check, `jmp` back). They share one
 * layout, so a cold path is found from the first field alone.
 */
export const WINDOW_CHECK: readonly Template[] = [1, 2, 4].flatMap((w) => [
  windowCheck(w, false),
  windowCheck(w, true),
]);
/** From a window check's first rel32 field: to its second, and to the end of the check. */
export const WINDOW_SECOND = WINDOW_CHECK[0].rel32[1] - WINDOW_CHECK[0].rel32[0];
export const WINDOW_END = WINDOW_CHECK[0].bytes.length - WINDOW_CHECK[0].rel32[0];
for (const t of WINDOW_CHECK) {
  if (t.rel32[1] - t.rel32[0] !== WINDOW_SECOND || t.bytes.length - t.rel32[0] !== WINDOW_END) {
    throw new Error("window-check templates must share one layout");
  }
}

/**
 * The inline lookup and charge of a link-less indirect jump to EAX (see
 * X64Backend): imm32s are the code start and size; rel32s go to the full
 * lookup (outside code), the full lookup (no instruction there) and the
 * unpaid path.
 */
export const JUMP_INDIRECT: Template = make((a, far, f) => {
  a.mov32(RDX, RAX);
  a.alu32Imm(ALU.SUB, RDX, 0x7fffffff);
  f.imm32.push(a.offset - 4);
  a.alu32Imm(ALU.CMP, RDX, 0x7fffffff);
  f.imm32.push(a.offset - 4);
  a.jcc(CC.AE, far);
  f.rel32.push(a.offset - 4);
  a.shift64Imm(SHIFT.SHL, RDX, 3); // offset * 8 = slot * 16, the entry's offset
  a.alu64RM(ALU.ADD, RDX, field(State.JUMP_TABLE));
  a.alu64MI(ALU.CMP, { base: RDX }, 0);
  a.jcc(CC.E, far);
  f.rel32.push(a.offset - 4);
  a.alu64RM(ALU.SUB, GAS, { base: RDX, disp: 8 });
  a.jcc(CC.S, far);
  f.rel32.push(a.offset - 4);
  a.jmpMem({ base: RDX });
});

/** `add r14, [rdx + 8]; mov [EXIT_PC], eax; jmp outOfGas`: an indirect target that cannot be paid. */
export const UNPAID_INDIRECT: Template = make((a, far, f) => {
  a.alu64RM(ALU.ADD, GAS, { base: RDX, disp: 8 });
  a.store32(field(State.EXIT_PC), RAX);
  a.jmp(far);
  f.rel32.push(a.offset - 4);
});

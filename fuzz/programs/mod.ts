/**
 * The differential campaign: random programs (fuzz/programs/generate.ts) run
 * on every tier must behave the same, and agree with the memory model.
 * @module
 */
import { decodeInstruction, newDecodedInstruction } from "../../abi/decode.ts";
import { disassemble } from "../../abi/disasm.ts";
import type { Campaign } from "../campaign.ts";
import { checkProgram, programElf } from "./check.ts";
import { generateProgram, type Parcel, type ProgramCase } from "./generate.ts";

const NOP: Record<2 | 4, number> = { 4: 0x00000013, 2: 0x0001 };

/** The disassembly of `code` placed at `at`, one line per instruction (NOPs left out). */
export function listing(
  code: readonly Parcel[],
  at: number,
  rve: boolean,
  notes: ReadonlyMap<number, string> = new Map(),
  from = 0,
): string[] {
  const d = newDecodedInstruction();
  const lines: string[] = [];
  code.forEach((p, k) => {
    if (k >= from && (p.word !== NOP[p.size] || notes.has(k))) {
      decodeInstruction(p.word & 0xffff, p.size === 4 ? p.word >>> 16 : 0, rve, d);
      const text = p.size === 2 ? `${disassemble(d, at)} (compressed)` : disassemble(d, at);
      const note = notes.has(k) ? `   ; ${notes.get(k)}` : "";
      lines.push(`  ${at.toString(16)}: ${text}${note}`);
    }
    at += p.size;
  });
  return lines;
}

const flagsText = (f: number) => (f & 4 ? "r" : "-") + (f & 2 ? "w" : "-") + (f & 1 ? "x" : "-");

/** The random-program campaign. */
export const programsCampaign: Campaign<ProgramCase> = {
  name: "programs",
  noun: "programs",
  generate: generateProgram,
  check: checkProgram,
  units: (c) => c.code.length - c.firstUnit,
  restrict(c, kept) {
    const code = c.code.map((p, k) =>
      k < c.firstUnit || kept[k - c.firstUnit] ? p : { word: NOP[p.size], size: p.size }
    );
    const sites = c.sites.filter((s) => code[s.at].word === c.code[s.at].word);
    return { ...c, code, sites };
  },
  describe(c) {
    const { layout } = c;
    const codeSize = c.code.reduce((n, p) => n + p.size, 0);
    const segments = [
      `code ${layout.codeAt.toString(16)} ${flagsText(layout.codeFlags)} ${codeSize} bytes`
      + (layout.tail ? ` + ${layout.tail}-byte zero tail` : ""),
      ...layout.segments.map((s) =>
        `${s.vaddr.toString(16)} ${flagsText(s.flags)} ${s.bytes.length}/${
          s.memsz ?? s.bytes.length
        } bytes`
      ),
      ...(layout.farCode ? [`far code ${layout.farCode.toString(16)}`] : []),
    ];
    const notes = new Map<number, string>();
    for (const s of c.sites) notes.set(s.at, `host call ${s.name}`);
    for (const e of c.exports) notes.set(e.at, `${notes.get(e.at) ?? ""} <${e.name}>`.trim());
    notes.set(c.entry, `${notes.get(c.entry) ?? ""} <entry>`.trim());
    return [
      `layout ${layout.name}: ${segments.join(", ")}`,
      `options ${JSON.stringify(layout.options)}, ${c.rve ? "RV32E" : "RV32I"}, ${
        c.forward ? "forward jumps only" : "any jumps"
      }, gas ${c.gas}, refuels [${c.refuels}]${c.traced ? ", also traced" : ""}`,
      `export calls after the run: ${
        c.calls.map((call) => `${call.name}(${call.args}) gas ${call.gas}`).join(", ") || "none"
      }`,
      `probes: ${c.probes.length} export probes, ${c.helperProbes.length} host helper probes`,
      "code (the probe exports p_* come first; NOPs of the reduction left out):",
      ...listing(c.code, layout.codeAt, c.rve, notes, c.firstUnit),
      ...(c.farCode.length ? ["far code:", ...listing(c.farCode, layout.farCode, c.rve)] : []),
    ].join("\n");
  },
  artifacts: (c) => ({ ".elf": programElf(c) }),
};

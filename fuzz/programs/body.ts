/**
 * The prologue and body of a generated program: random instruction groups
 * whose jump targets are resolved once every instruction's size (2 or 4
 * bytes) and so its address is known.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../../abi/constants.ts";
import { cins, format, ins, R_TYPE_FUNCTS } from "../../tests/_guest.ts";
import { edgeAddresses, type ModelRegion } from "../model.ts";
import type { Random } from "../random.ts";
import type { Layout } from "./layouts.ts";

/** One instruction: a 32-bit word or a 16-bit parcel. */
export interface Parcel {
  word: number;
  size: 2 | 4;
}

const amo = ins.atomic;

/** What the body generator needs to know. */
export interface BodyContext {
  layout: Layout;
  rve: boolean;
  forward: boolean;
  /** The planned memory map, for pointers. */
  regions: ModelRegion[];
  /** Parcel index where the generated code starts. */
  first: number;
  /** Address of that parcel. */
  at: number;
}

/** The generated export stubs, prologue and body. */
export interface Body {
  code: Parcel[];
  sites: { at: number; name: string; }[];
  /** Exports that set the pointer registers and jump into the body. */
  entries: { at: number; name: string; }[];
  /** Parcel index of the entry point (the prologue's first). */
  entry: number;
  /** Instructions in the prologue (what a run pays before the body). */
  prologue: number;
}

/** Where a jump goes: a valid instruction start or one of the invalid kinds. */
type DestKind = "valid" | "mid" | "end" | "tail" | "far" | "host" | "zero" | "odd";

interface Dest {
  kind: DestKind;
  /** Chooses among candidates, drawn at generation so resolution is deterministic. */
  u: number;
  /** Largest distance a direct jump can encode. */
  range: number;
  /** Parcel (within the group) the distance is measured from. */
  from: number;
}

/** A parcel whose encoding may depend on the group's resolved target. */
interface Pending {
  size: 2 | 4;
  encode: (target: number, here: number) => number;
}

interface Group {
  parcels: Pending[];
  dest?: Dest;
  /** The group's host-call site: import name and parcel (an ECALL) within the group. */
  site?: { name: string; index: number; };
}

const { r, i, s, b } = format;
const PA = 8, PB = 9, PE = 14, A0 = 10, A1 = 11, A2 = 12, RA = 1, SP = 2;
const BASES = [PA, PB, PE];
const BUDGET_BYTES = 3300;
const GROUPS = 160;
const RANGE_B = 4094, RANGE_JAL = 1 << 19, RANGE_CB = 254, RANGE_CJ = 2046;
const SBRK_STEPS = [1, 2, 3, 4, 5, 0, -1, -2, -3, -4, 4093, 4096, 4097, -4096, 0x10000];
const SBRK_RARE = [-0x10000, 0x7fffffff, -0x80000000, 1 << 20];
const EXTREMES = [0, 0xfffffffc, 0xffffffff, 0x80000000, HOST_RETURN_ADDRESS];
const EDGE_VALUES = [0, 1, -1, 2, 31, 32, 0x7fffffff, -0x80000000, 0x8000, 0xffff, 0x12345678];

const fixed = (word: number, size: 2 | 4 = 4): Pending => ({ size, encode: () => word });
/** Whether a 32-bit encoding is a branch, JAL or JALR (major opcodes 0x63, 0x6f, 0x67). */
const isJump32 = (word: number) => [0x63, 0x6f, 0x67].includes(word & 0x7f);
/** Whether a parcel is C.J, C.JAL, C.BEQZ, C.BNEZ (quadrant 1) or C.JR, C.JALR (quadrant 2). */
const isJump16 = (half: number) => {
  const f3 = half >>> 13;
  if ((half & 3) === 1) return [1, 5, 6, 7].includes(f3);
  return (half & 3) === 2 && f3 === 4 && ((half >>> 2) & 31) === 0 && ((half >>> 7) & 31) !== 0;
};
/** `lui` + `addi` loading `value(target)` into `rd`. */
const li32 = (rd: number, value: (target: number) => number): Pending[] => {
  const lo = (v: number) => (v << 20) >> 20;
  return [
    { size: 4, encode: (t) => ins.lui(rd, ((value(t) - lo(value(t))) >>> 12) & 0xfffff) },
    { size: 4, encode: (t) => ins.addi(rd, rd, lo(value(t))) },
  ];
};
const liConst = (rd: number, value: number) => li32(rd, () => value);

/** Generates export stubs, the prologue and the body (parcel indices start at `ctx.first`). */
export function generateBody(rnd: Random, ctx: BodyContext): Body {
  const regs = ctx.rve ? 16 : 32;
  const reg = () => rnd.int(regs);
  /** A destination: never a base, and seldom the stack pointer (C.LWSP/C.SWSP use it). */
  const dst = () => {
    const x = reg();
    return BASES.includes(x) || (x === SP && rnd.chance(0.9)) ? 0 : x;
  };
  /** A compressed register (x8-x15) that is not a base. */
  const shortDst = () => {
    const x = 8 + rnd.int(8);
    return BASES.includes(x) ? A0 : x;
  };
  const short = () => 8 + rnd.int(8);
  const loadBase = () => rnd.pick([PA, PA, PB, PB, PB, PB, PE]);
  const storeBase = () => rnd.pick([PA, PA, PA, PA, PA, PA, PB, PE]);
  const near = (x: number) =>
    x === PE ? rnd.int(9) - 4 : rnd.chance(0.9) ? rnd.int(64) : rnd.int(4096) - 2048;
  /** Mostly valid encodings: an invalid one ends the run, so they stay rare. */
  const rare = () => rnd.chance(0.005);
  /** Any 16-bit parcel (low bits not 11: that would start a 4-byte instruction). */
  const randomParcel = (): number => {
    const half = rnd.int(0x10000) & ~(rnd.int(2) ? 1 : 2);
    // A forward program may not jump: a random backward jump could loop for all its gas.
    return ctx.forward && isJump16(half) ? randomParcel() : half;
  };
  /** rs2 of C.MV / C.ADD: x0 makes them C.JR / C.JALR, which a forward program may not use. */
  const source16 = () => ctx.forward ? reg() || 1 : reg();
  const randomWord = (): number => {
    const word = ((rnd.int(2 ** 30) << 2) | 3) >>> 0;
    return ctx.forward && isJump32(word) ? randomWord() : word;
  };
  const pool = [...edgeAddresses(ctx.regions), ...EXTREMES];
  const inside = (list: ModelRegion[]) => {
    if (!list.length) return rnd.pick(pool);
    const region = rnd.pick(list);
    return region.start + rnd.int(Math.min(0x200, region.end - region.start));
  };
  const pointer = () => rnd.chance(0.3) ? rnd.pick(pool) : inside(ctx.regions);
  const dest = (range: number, from: number, jalr: boolean): Dest => {
    // Into a zero-filled tail more often when there is one: entering it costs the most.
    const roll = ctx.layout.tail && rnd.chance(0.1) ? 96 : rnd.int(100);
    const kind: DestKind = roll < 92
      ? "valid"
      : roll < 95
      ? "mid"
      : roll < 96
      ? "end"
      : roll < 97
      ? "tail"
      : !jalr
      ? "valid"
      : rnd.pick(["far", "far", "host", "zero", "odd"]);
    return { kind, u: rnd.next(), range, from };
  };

  const groups: Group[] = [];
  const prologue: Group[] = [];
  const bases = new Map<number, number>();
  const stack = ctx.regions.find((r) => r.name === "stack" && r.end - r.start >= 0x400);
  for (let x = 1; x < regs; x++) {
    const roll = rnd.int(10);
    if (x === SP && roll < 2) continue; // keep the stack pointer the host set
    let value: number;
    // Inside the stack, so that C.LWSP and C.SWSP offsets (0-252) reach stack memory.
    if (x === SP && stack && roll < 9) value = stack.end - 0x100 - 4 * rnd.int(64);
    else if (x === PA) value = inside(ctx.regions.filter((r) => r.write && r.name !== "heap"));
    else if (x === PB) value = inside(ctx.regions.filter((r) => r.read && r.name !== "heap"));
    else if (x === PE) value = rnd.pick(pool);
    else if (x === RA && roll < 8) value = HOST_RETURN_ADDRESS;
    else value = rnd.chance(0.3) ? pointer() : rnd.pick(EDGE_VALUES) ^ rnd.int(1 << 12);
    if (BASES.includes(x) || x === SP) bases.set(x, value);
    prologue.push({ parcels: liConst(x, value) });
  }
  // Export stubs: set the pointer registers as the prologue does, then jump into the body,
  // so export calls run more of it (a call from the host starts with zero registers).
  const stubs: Group[] = Array.from({ length: 1 + rnd.int(3) }, () => ({
    parcels: [
      ...[...bases].flatMap(([x, value]) => liConst(x, value)),
      { size: 4, encode: (t, here) => ins.jal(0, t - here) },
    ],
    dest: { kind: "valid", u: rnd.next(), range: RANGE_JAL, from: 2 * bases.size },
  }));

  const jump = (encode: Pending["encode"], range: number, size: 2 | 4 = 4): Group => ({
    parcels: [{ size, encode }],
    dest: dest(range, 0, false),
  });
  /** li32 t, target; then an indirect jump through t. */
  const indirect = (compressedForm: boolean): Group => {
    const t = dst() || 5;
    const imm = compressedForm || rnd.chance(0.6) ? 0 : rnd.pick([-4, -2, 2, 4, 6]);
    const link = rnd.pick([0, 1, dst()]);
    const last: Pending = compressedForm
      ? fixed(link === 1 ? cins.jalr(t) : cins.jr(t), 2)
      : fixed(ins.jalr(link, t, imm));
    return { parcels: [...li32(t, (target) => target - imm), last], dest: dest(0, 2, true) };
  };
  /**
   * Two to four word accesses through base `b0` at offsets congruent mod 4,
   * near it (the steps loop performs such runs in one step, checked once).
   */
  const wordRun = (b0: number, make: (offset: number) => number): Group => {
    const first = near(b0);
    const offsets = Array.from({ length: 2 + rnd.int(3) }, () => first + 4 * (rnd.int(5) - 2));
    return { parcels: offsets.map((offset) => fixed(make(offset))) };
  };
  const call = (name: string | undefined, setup: Pending[]): Group => ({
    parcels: [...setup, fixed(ins.ecall())],
    site: name === undefined ? undefined : { name, index: setup.length },
  });

  const compressed = (): Group => {
    const imm6 = rnd.int(64) - 32;
    const shamt = rare() ? 32 + rnd.int(32) : rnd.int(32);
    const one = (half: number): Group => ({ parcels: [fixed(half & 0xffff, 2)] });
    switch (rnd.int(24)) {
      case 0:
        return one(cins.addi4spn(shortDst(), rare() ? 0 : 4 * (1 + rnd.int(255))));
      case 1:
        return one(cins.lw(shortDst(), loadBase(), 4 * rnd.int(rnd.chance(0.5) ? 2 : 32)));
      case 2:
        return one(cins.sw(short(), storeBase(), 4 * rnd.int(rnd.chance(0.5) ? 2 : 32)));
      case 3:
        return one(cins.addi(dst(), imm6));
      case 4:
        return one(cins.li(dst(), imm6));
      case 5:
        return one(cins.addi16sp(rare() ? 0 : 16 * (rnd.int(9) - 4 || 1)));
      case 6:
        return one(cins.lui(rnd.pick([dst(), dst(), 0, SP]), rare() ? 0 : imm6 || 1));
      case 7:
        return one(rnd.chance(0.5) ? cins.srli(shortDst(), shamt) : cins.srai(shortDst(), shamt));
      case 8:
        return one(cins.andi(shortDst(), imm6));
      case 9:
        return one(rnd.pick([cins.sub, cins.xor, cins.or, cins.and])(shortDst(), short()));
      case 10:
        return one(cins.slli(dst(), shamt));
      case 11:
        return one(cins.lwsp(rare() ? 0 : dst() || 5, 4 * rnd.int(64)));
      case 12:
        return one(cins.swsp(reg(), 4 * rnd.int(64)));
      case 13:
        return one(cins.mv(dst(), source16()));
      case 14:
        return one(cins.add(dst(), source16()));
      case 15:
        return one(rnd.chance(0.3) ? cins.ebreak() : cins.nop());
      case 16:
        return jump((t, here) => cins.j(t - here), RANGE_CJ, 2);
      case 17:
        return jump((t, here) => cins.jal(t - here), RANGE_CJ, 2);
      case 18:
      case 19: {
        const rs1 = short();
        const form = rnd.chance(0.5) ? cins.beqz : cins.bnez;
        return jump((t, here) => form(rs1, t - here), RANGE_CB, 2);
      }
      case 20:
        return ctx.forward ? indirect(true) : one(rnd.chance(0.5) ? cins.jr(RA) : cins.jalr(RA));
      case 21:
        return indirect(true);
      case 22: // reserved or random parcels, now and then
        return rnd.chance(0.2)
          ? one(rnd.pick([0, cins.jr(0), 0x8000 | (rnd.int(0x1000) * 4), randomParcel()]))
          : one(cins.mv(dst(), reg() || 1));
      default:
        return one(cins.addi(dst(), 0)); // a HINT when rd = x0
    }
  };

  const general = (): Group => {
    const roll = rnd.int(100);
    if (roll < 16) {
      const [f7, f3] = rnd.pick(R_TYPE_FUNCTS);
      return { parcels: [fixed(r(f7, reg(), reg(), f3, dst(), 0x33))] };
    }
    if (roll < 25) {
      const f3 = rnd.pick([0, 2, 3, 4, 6, 7, 1, 5]);
      const bad = rare() ? (1 + rnd.int(0x3f)) << 5 : 0; // shifts with reserved bits
      const imm = f3 === 1
        ? rnd.int(32) | bad
        : f3 === 5
        ? rnd.int(32) | (rnd.int(2) << 10) | bad
        : rnd.pick([0, 1, -1, 2047, -2048, rnd.int(4096) - 2048]);
      return { parcels: [fixed(i(imm, reg(), f3, dst(), 0x13))] };
    }
    if (roll < 28) {
      const word = rnd.chance(0.5)
        ? ins.lui(dst(), rnd.int(1 << 20))
        : ((rnd.int(1 << 20) << 12) | (dst() << 7) | 0x17) >>> 0;
      return { parcels: [fixed(word)] };
    }
    if (roll < 36) {
      const b0 = loadBase();
      if (rnd.chance(0.25)) return wordRun(b0, (off) => i(off, b0, 2, dst(), 0x03));
      const f3 = rare() ? rnd.pick([3, 6, 7]) : rnd.pick([0, 1, 2, 4, 5]);
      return { parcels: [fixed(i(near(b0), b0, f3, dst(), 0x03))] };
    }
    if (roll < 43) {
      const b0 = storeBase();
      if (rnd.chance(0.25)) return wordRun(b0, (off) => s(off, reg(), b0, 2));
      const f3 = rare() ? 3 + rnd.int(5) : rnd.int(3);
      return { parcels: [fixed(s(near(b0), reg(), b0, f3))] };
    }
    if (roll < 47) {
      const f5 = rare() ? rnd.int(32) : rnd.pick([0, 1, 4, 8, 12, 16, 20, 24, 28, 2, 3]);
      const word = amo(f5, dst(), f5 === 2 ? 0 : reg(), storeBase(), rnd.int(4));
      return { parcels: [fixed(rare() ? word ^ (1 << 12) : word)] };
    }
    if (roll < 49) {
      const b0 = storeBase();
      const between = Array.from({ length: rnd.int(3) }, () => fixed(ins.add(dst(), reg(), reg())));
      const b1 = rnd.chance(0.8) ? b0 : storeBase();
      return {
        parcels: [fixed(amo(2, dst(), 0, b0)), ...between, fixed(amo(3, dst(), reg(), b1))],
      };
    }
    if (roll < 57) {
      const [rs1, rs2] = [reg(), reg()];
      const f3 = rare() ? rnd.pick([2, 3]) : rnd.pick([0, 1, 4, 5, 6, 7]);
      const branch = jump((t, here) => b(t - here, rs2, rs1, f3), RANGE_B);
      // Often after an ADDI or ADD to an operand, as loops count (the steps loop fuses them).
      const x = rnd.chance(0.3) ? dst() : 0;
      if (x === 0) return branch;
      const count = rnd.chance(0.5) ? ins.addi(x, x, rnd.int(9) - 4) : ins.add(x, x, reg());
      return { parcels: [fixed(count), ...branch.parcels], dest: { ...branch.dest!, from: 1 } };
    }
    if (roll < 60) {
      const rd = rnd.pick([0, 1, dst()]);
      return jump((t, here) => ins.jal(rd, t - here), RANGE_JAL);
    }
    if (roll < 64) {
      if (!ctx.forward && rnd.chance(0.25)) return { parcels: [fixed(ins.ret())] };
      return indirect(false);
    }
    if (roll < 68) {
      // Mostly what the host function does without throwing (see fuzz/programs/host.ts).
      const sel = rnd.chance(0.7) ? rnd.pick([0, 1, 4, 5, 6, 9, 11, 12]) : rnd.int(16);
      return call("h", [
        fixed(ins.addi(A0, 0, sel)),
        ...li32(A1, () => pointer()),
        fixed(ins.addi(A2, 0, rnd.int(4096) - 2048)),
      ]);
    }
    if (roll < 72) {
      const step = rnd.chance(0.9) ? rnd.pick(SBRK_STEPS) : rnd.pick(SBRK_RARE);
      const group = call("rvbox_sbrk", liConst(A0, step));
      if (rnd.chance(0.25)) { // use the old break it returned
        const f3 = rnd.pick([0, 1, 2, 4]);
        const use = rnd.chance(0.5)
          ? s(rnd.int(8) - 4, reg(), A0, f3 & 3)
          : i(rnd.int(8) - 4, A0, f3, A1, 3);
        group.parcels.push(fixed(use));
      }
      return group;
    }
    if (roll < 73) {
      const length = rnd.pick([0, 1, 5, 64, 0x7fffffff]);
      return call("rvbox_print", [...li32(A0, () => pointer()), fixed(ins.addi(A1, 0, length))]);
    }
    if (roll < 74) {
      if (rnd.chance(0.8)) {
        return call("rvbox_exit", [fixed(ins.addi(A0, 0, rnd.int(4096) - 2048))]);
      }
      return call(undefined, []); // an ECALL no import lists: invalid
    }
    if (roll < 76) return { parcels: [fixed(ins.ebreak())] };
    if (roll < 78) {
      if (!rnd.chance(0.2)) {
        return { parcels: [fixed(rnd.pick([0x0ff0000f, 0x0000100f, 0x8330000f, 0x0100000f]))] };
      }
      const word = rnd.pick([
        ins.csrrs(dst(), 0xc00),
        0x0ff0000f, // fence
        0x0000100f, // fence.i
        0x8330000f, // fence.tso
        0x0100000f, // pause
        0x10500073, // wfi
        0x30200073, // mret
        randomWord(),
      ]);
      return { parcels: [fixed(word >>> 0)] };
    }
    if (roll < 79 && (!ctx.rve || rnd.chance(0.2))) { // registers x16-x31: invalid in RV32E
      const [f7, f3] = rnd.pick(R_TYPE_FUNCTS);
      const rd = 16 + rnd.int(16);
      return { parcels: [fixed(r(f7, rnd.int(32), rnd.int(32), f3, rd, 0x33))] };
    }
    return compressed();
  };

  let bytes = 0;
  for (let n = 0; n < GROUPS && bytes < BUDGET_BYTES; n++) {
    const group = general();
    groups.push(group);
    for (const p of group.parcels) bytes += p.size;
  }
  if (!ctx.forward && rnd.chance(0.5)) groups.push({ parcels: [fixed(ins.ret())] });
  return resolve(ctx, stubs, prologue, groups);
}

/** Lays the groups out, resolves every jump target and encodes the parcels. */
function resolve(ctx: BodyContext, stubs: Group[], prologue: Group[], groups: Group[]): Body {
  const all = [...stubs, ...prologue, ...groups];
  const bodyStart = stubs.length + prologue.length;
  const address: number[] = []; // of each parcel, by index from ctx.first
  const starts: number[] = []; // of each body group: the valid targets
  const mids: number[] = []; // the middle of each 4-byte body instruction
  const groupFirst: number[] = [];
  let at = ctx.at;
  all.forEach((g, k) => {
    groupFirst.push(ctx.first + address.length);
    if (k >= bodyStart) starts.push(at);
    for (const p of g.parcels) {
      if (k >= bodyStart && p.size === 4) mids.push(at + 2);
      address.push(at);
      at += p.size;
    }
  });
  const end = at;
  const choose = (list: number[], d: Dest, here: number) => {
    const ok = list.filter((t) =>
      (!ctx.forward || t > here) && (d.range === 0 || Math.abs(t - here) <= d.range)
    );
    return ok.length ? ok[Math.floor(d.u * ok.length)] : undefined;
  };
  const target = (d: Dest, here: number, next: number): number => {
    const inRange = (t: number) => d.range === 0 || Math.abs(t - here) <= d.range;
    switch (d.kind) {
      case "mid":
        return choose(mids, d, here) ?? next;
      case "end":
        return inRange(end) ? end : next;
      case "tail": {
        const t = end + 2 * Math.floor(d.u * 64);
        return ctx.layout.tail && inRange(t) ? t : next;
      }
      case "far":
        return ctx.layout.farCode ? ctx.layout.farCode + 2 * Math.floor(d.u * 8) : next;
      case "host":
        return HOST_RETURN_ADDRESS;
      case "zero":
        return 0;
      case "odd":
        return (choose(starts, d, here) ?? next) + 1;
      default:
        return choose(starts, d, here) ?? next;
    }
  };
  const code: Parcel[] = [];
  const sites: Body["sites"] = [];
  all.forEach((g, k) => {
    const first = groupFirst[k];
    const from = address[first - ctx.first + (g.dest?.from ?? 0)];
    const jumpSize = g.parcels[g.dest?.from ?? 0].size;
    const t = g.dest ? target(g.dest, from, from + jumpSize) : 0;
    g.parcels.forEach((p, n) => {
      const here = address[first - ctx.first + n];
      code.push({ word: p.encode(t, here) >>> 0, size: p.size });
    });
    if (g.site) sites.push({ at: first + g.site.index, name: g.site.name });
  });
  return {
    code,
    sites,
    entries: stubs.map((_, k) => ({ at: groupFirst[k], name: `e${k}` })),
    entry: groupFirst[stubs.length],
    prologue: prologue.reduce((n, g) => n + g.parcels.length, 0),
  };
}

/*
 * An emulator of a 6502-style 8-bit CPU (table-driven decoding: each opcode
 * maps to an operation and an addressing mode) running a built-in program
 * of nested loops, a subroutine and indexed memory; its final memory is
 * compared with the same computation written directly in C.
 */
#include "bench.h"

enum { IMP, IMM, ZP, ABS, ABSX, REL };
enum { BRK, LDA, LDX, LDY, STA, TXA, CLC, SEC, ADC, SBC, EOR, AND, ORA, INX, INY, DEX, DEY,
       CPX, CPY, CMP, BNE, BEQ, BCC, BCS, JSR, RTS, JMP, NOP };

typedef struct {
  uint8_t op, mode;
} Decode;

static Decode table[256];
static uint8_t mem[1 << 16];

static void define(uint8_t opcode, uint8_t op, uint8_t mode) {
  table[opcode].op = op;
  table[opcode].mode = mode;
}

static void build_table(void) {
  for (int i = 0; i < 256; i++) define((uint8_t)i, NOP, IMP);
  define(0x00, BRK, IMP), define(0xa9, LDA, IMM), define(0xa5, LDA, ZP), define(0xad, LDA, ABS);
  define(0xbd, LDA, ABSX), define(0xa2, LDX, IMM), define(0xa0, LDY, IMM), define(0x85, STA, ZP);
  define(0x8d, STA, ABS), define(0x9d, STA, ABSX), define(0x8a, TXA, IMP), define(0x18, CLC, IMP);
  define(0x38, SEC, IMP), define(0x69, ADC, IMM), define(0x65, ADC, ZP), define(0xe9, SBC, IMM);
  define(0xe5, SBC, ZP), define(0x45, EOR, ZP), define(0x25, AND, ZP), define(0x05, ORA, ZP);
  define(0xe8, INX, IMP), define(0xc8, INY, IMP), define(0xca, DEX, IMP), define(0x88, DEY, IMP);
  define(0xe0, CPX, IMM), define(0xc0, CPY, IMM), define(0xc9, CMP, IMM), define(0xd0, BNE, REL);
  define(0xf0, BEQ, REL), define(0x90, BCC, REL), define(0xb0, BCS, REL), define(0x20, JSR, ABS);
  define(0x60, RTS, IMP), define(0x4c, JMP, ABS);
}

/* Runs from `pc` until BRK; returns the number of instructions executed. */
static uint32_t execute(uint16_t pc) {
  uint8_t a = 0, x = 0, y = 0, sp = 0xff;
  int carry = 0, zero = 0, negative = 0, overflow = 0;
  uint32_t steps = 0;
  for (;;) {
    Decode d = table[mem[pc++]];
    uint16_t address = 0;
    switch (d.mode) {
    case IMM: address = pc++; break;
    case ZP: address = mem[pc++]; break;
    case ABS: address = (uint16_t)(mem[pc] | mem[pc + 1] << 8); pc += 2; break;
    case ABSX: address = (uint16_t)((mem[pc] | mem[pc + 1] << 8) + x); pc += 2; break;
    case REL: address = (uint16_t)(pc + 1 + (int8_t)mem[pc]); pc++; break;
    default: break;
    }
    steps++;
    uint8_t value = 0, result = 0;
    int flags = 1; /* set N and Z from `result` */
    switch (d.op) {
    case BRK: return steps;
    case LDA: result = a = mem[address]; break;
    case LDX: result = x = mem[address]; break;
    case LDY: result = y = mem[address]; break;
    case STA: mem[address] = a; flags = 0; break;
    case TXA: result = a = x; break;
    case CLC: carry = 0; flags = 0; break;
    case SEC: carry = 1; flags = 0; break;
    case SBC:
    case ADC: {
      value = d.op == SBC ? (uint8_t)~mem[address] : mem[address];
      uint16_t sum = (uint16_t)(a + value + carry);
      overflow = (~(a ^ value) & (a ^ sum) & 0x80) != 0;
      carry = sum > 0xff;
      result = a = (uint8_t)sum;
      break;
    }
    case EOR: result = a ^= mem[address]; break;
    case AND: result = a &= mem[address]; break;
    case ORA: result = a |= mem[address]; break;
    case INX: result = ++x; break;
    case INY: result = ++y; break;
    case DEX: result = --x; break;
    case DEY: result = --y; break;
    case CPX: value = x; goto compare;
    case CPY: value = y; goto compare;
    case CMP: value = a;
    compare:
      carry = value >= mem[address];
      result = (uint8_t)(value - mem[address]);
      break;
    case BNE: if (!zero) pc = address; flags = 0; break;
    case BEQ: if (zero) pc = address; flags = 0; break;
    case BCC: if (!carry) pc = address; flags = 0; break;
    case BCS: if (carry) pc = address; flags = 0; break;
    case JSR:
      mem[0x100 + sp--] = (uint8_t)((pc - 1) >> 8);
      mem[0x100 + sp--] = (uint8_t)(pc - 1);
      pc = address;
      flags = 0;
      break;
    case RTS:
      pc = (uint16_t)(mem[0x100 + (uint8_t)(sp + 1)] | mem[0x100 + (uint8_t)(sp + 2)] << 8) + 1;
      sp += 2;
      flags = 0;
      break;
    case JMP: pc = address; flags = 0; break;
    default: flags = 0; break;
    }
    if (flags) {
      zero = result == 0;
      negative = result >> 7;
    }
    (void)negative, (void)overflow;
  }
}

/* The program: 64 calls of a subroutine that runs 256 iterations over zero page and $0300,X. */
static const uint8_t PROGRAM[] = {
    0xa2, 0x00,       /* 0600 LDX #0       */
    0xa0, 0x00,       /* 0602 LDY #0       */
    0x20, 0x20, 0x06, /* 0604 JSR $0620    */
    0xc8,             /* 0607 INY          */
    0xc0, 0x40,       /* 0608 CPY #$40     */
    0xd0, 0xf8,       /* 060a BNE $0604    */
    0x00,             /* 060c BRK          */
};
static const uint8_t SUBROUTINE[] = {
    0xa2, 0x00,       /* 0620 LDX #0       */
    0x8a,             /* 0622 TXA          */
    0x18,             /* 0623 CLC          */
    0x65, 0x10,       /* 0624 ADC $10      */
    0x85, 0x10,       /* 0626 STA $10      */
    0x45, 0x11,       /* 0628 EOR $11      */
    0x85, 0x11,       /* 062a STA $11      */
    0xbd, 0x00, 0x03, /* 062c LDA $0300,X  */
    0x65, 0x12,       /* 062f ADC $12      */
    0x9d, 0x00, 0x03, /* 0631 STA $0300,X  */
    0xe8,             /* 0634 INX          */
    0xd0, 0xeb,       /* 0635 BNE $0622    */
    0x60,             /* 0637 RTS          */
};

static void load(void) {
  for (int32_t i = 0; i < (1 << 16); i++) mem[i] = 0;
  for (uint32_t i = 0; i < sizeof PROGRAM; i++) mem[0x600 + i] = PROGRAM[i];
  for (uint32_t i = 0; i < sizeof SUBROUTINE; i++) mem[0x620 + i] = SUBROUTINE[i];
  for (int i = 0; i < 256; i++) mem[0x300 + i] = (uint8_t)i;
  mem[0x12] = 0x37;
}

/* The same computation without the emulator; compares the results. */
static int32_t check(void) {
  uint8_t m10 = 0, m11 = 0, table300[256];
  for (int i = 0; i < 256; i++) table300[i] = (uint8_t)i;
  for (int y = 0; y < 64; y++) {
    for (int x = 0; x < 256; x++) {
      unsigned sum = (unsigned)x + m10;
      m10 = (uint8_t)sum;
      m11 ^= m10;
      unsigned sum2 = (unsigned)table300[x] + 0x37 + (sum > 0xff);
      table300[x] = (uint8_t)sum2;
    }
  }
  int32_t bad = mem[0x10] != m10 || mem[0x11] != m11;
  for (int i = 0; i < 256; i++) bad |= mem[0x300 + i] != table300[i];
  return bad;
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  build_table();
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    load();
    /* LDX, LDY; 64 x (JSR, LDX, 256 x 11 loop instructions, RTS, INY, CPY, BNE); BRK */
    bad |= execute(0x600) != 2 + 64 * (1 + 1 + 256 * 11 + 1 + 3) + 1;
    bad |= check();
  }
  return bad;
}

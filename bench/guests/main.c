/* Entry of the native and qemu builds: run at BENCH_SCALE, exit 0 on a checked result. */
#include "bench.h"

int32_t run(int32_t scale);

int main(void) { return run(BENCH_SCALE) == 0 ? 0 : 1; }

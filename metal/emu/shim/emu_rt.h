/* Interface between the MSL shim (compiled into each kernel library) and the
   emulator runtime (runtime.cpp, its own shared library). Plain C ABI. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

enum {
  EMU_K_BUF = 0, /* [[buffer(i)]] pointer or reference */
  EMU_K_TG = 1,  /* [[threadgroup(i)]] pointer */
  EMU_K_ATTR = 2 /* a built-in attribute value */
};

/* attribute ids: index into emu_thread.a */
enum {
  EMU_A_TPIG = 0,    /* thread_position_in_grid */
  EMU_A_TPTG,        /* thread_position_in_threadgroup */
  EMU_A_TGPIG,       /* threadgroup_position_in_grid */
  EMU_A_TPTGSZ,      /* threads_per_threadgroup */
  EMU_A_TGPG,        /* threadgroups_per_grid */
  EMU_A_TPGRID,      /* threads_per_grid */
  EMU_A_TINDEX,      /* thread_index_in_threadgroup */
  EMU_A_LANE,        /* thread_index_in_simdgroup */
  EMU_A_SG,          /* simdgroup_index_in_threadgroup */
  EMU_A_SIMDW,       /* threads_per_simdgroup, thread_execution_width */
  EMU_A_NSG,         /* simdgroups_per_threadgroup */
  EMU_A_QLANE,       /* thread_index_in_quadgroup */
  EMU_A_QG,          /* quadgroup_index_in_threadgroup */
  EMU_A_ZERO,        /* grid_origin */
  EMU_A_COUNT
};

typedef struct emu_thread {
  unsigned a[EMU_A_COUNT][3];
  void *const *bufs; /* bound buffer pointers (offset applied) */
  void *const *tg;   /* [[threadgroup(i)]] segments */
} emu_thread;

typedef struct emu_param {
  int kind;  /* EMU_K_* */
  int index; /* buffer/threadgroup index or attribute id */
  unsigned size; /* bytes the parameter's type reads at its address (0: unknown) */
  int is_ref;    /* 1 for a reference parameter (one object), 0 for a pointer */
} emu_param;

typedef void (*emu_entry_fn)(const emu_thread *);
/* resolve computes a SIMD collective: in[l]/out[l] point at lane l's
   operand/result, or are NULL for inactive lanes; arg[l] is lane l's extra
   argument (delta, lane, mask). */
typedef void (*emu_resolve_fn)(const void *const *in, void *const *out, const int *arg);

int emu_register(const char *name, const char *file, emu_entry_fn fn, const emu_param *params, int nparams, int max_threads);
void emu_barrier(int simd_scope, const char *file, int line, int counter);
void emu_simd(const void *in, void *out, int arg, emu_resolve_fn fn, const char *file, int line, int counter);
void *emu_tg_static(unsigned long size, unsigned long align, const void *key, const char *name);
void emu_trap(const char *msg) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

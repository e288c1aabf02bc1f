// Runtime of the ingot MSL emulator, built once as its own shared library
// and loaded RTLD_GLOBAL so kernel libraries resolve emu_* against it.
//
// It owns: buffer memory (outside the Go heap; freed buffers are poisoned
// and quarantined), the kernel registry filled by the kernel libraries'
// static initialisers, an asynchronous command queue (one "GPU" thread), a
// pool of worker threads that run threadgroups in parallel, and fibers: every
// thread of a threadgroup is a fiber on one worker, so barriers and SIMD
// collectives are real synchronisation points.
#include "emu_rt.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#else
#define EMU_ASAN 0
#endif

#if defined(__x86_64__) && defined(__ELF__) && !defined(EMU_FORCE_UCONTEXT)
#define EMU_ASM 1
// emu_swap_ctx saves the callee-saved registers on the current stack, stores
// the stack pointer in *save and resumes the context whose stack pointer is
// load. A new fiber's stack is prepared so that the first switch "returns"
// into emu_fiber_entry, which calls r13(r12).
extern "C" void emu_swap_ctx(void **save, void *load);
extern "C" void emu_fiber_entry();
asm(R"(
.text
.p2align 4
.globl emu_swap_ctx
.hidden emu_swap_ctx
.type emu_swap_ctx,@function
emu_swap_ctx:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size emu_swap_ctx, .-emu_swap_ctx
.p2align 4
.globl emu_fiber_entry
.hidden emu_fiber_entry
.type emu_fiber_entry,@function
emu_fiber_entry:
  movq %r12, %rdi
  callq *%r13
  ud2
.size emu_fiber_entry, .-emu_fiber_entry
)");
#elif defined(__aarch64__) && defined(__ELF__) && !defined(EMU_FORCE_UCONTEXT)
#define EMU_ASM 1
// The same on arm64: x19-x30 and d8-d15 are saved in a 160-byte frame; a new
// fiber "returns" (x30) into emu_fiber_entry, which calls x20(x19).
extern "C" void emu_swap_ctx(void **save, void *load);
extern "C" void emu_fiber_entry();
asm(R"(
.text
.p2align 4
.globl emu_swap_ctx
.hidden emu_swap_ctx
.type emu_swap_ctx,%function
emu_swap_ctx:
  sub sp, sp, #160
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  mov x2, sp
  str x2, [x0]
  mov sp, x1
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #160
  ret
.size emu_swap_ctx, .-emu_swap_ctx
.p2align 4
.globl emu_fiber_entry
.hidden emu_fiber_entry
.type emu_fiber_entry,%function
emu_fiber_entry:
  mov x0, x19
  blr x20
  brk #0
.size emu_fiber_entry, .-emu_fiber_entry
)");
#else
#define EMU_ASM 0
#include <ucontext.h>
#endif

namespace {

constexpr size_t kTGLimit = 32768;
constexpr size_t kStackSize = 256 << 10;
constexpr int kMaxGroupThreads = 1024;

struct Kernel {
  std::string name, file;
  emu_entry_fn fn;
  std::vector<emu_param> ps;
  std::atomic<unsigned> static_tg{0};
  int lib;
  int max_threads; // [[max_total_threads_per_threadgroup]], 0 if none
};

std::mutex g_load_mu; // serialises emu_load
std::mutex g_reg_mu;  // guards g_kernels, g_loading
std::vector<Kernel *> g_kernels;
int g_loading = -1, g_next_lib = 0;
std::map<void *, int> g_handle_lib;

struct Dispatch {
  Kernel *k;
  std::vector<void *> bufs;
  std::vector<uint32_t> tg;
  uint32_t G[3], T[3];
};

struct CmdBuf {
  std::vector<Dispatch> ds;
  std::vector<void *> owned;
  std::mutex mu;
  std::condition_variable cv;
  bool committed = false, done = false;
  std::atomic<int> current{-1}; // dispatch running now
  std::string err;
  double secs = 0;
};

enum { F_RUN, F_SIMD, F_BAR, F_DONE };

struct Fiber {
#if EMU_ASM
  void *sp;
#else
  ucontext_t uc;
#endif
  char *mem; // mapping: guard page + stack
  size_t stagger; // bytes left unused at the stack top (see new_fiber)
  int state;
  emu_thread t;
  const char *wf;
  int wl, wc, wscope, warg;
  emu_resolve_fn wfn;
  const void *win;
  void *wout;
};

unsigned char *new_arena();

struct Worker {
  std::vector<Fiber *> fibers;
#if EMU_ASM
  void *sched_sp;
#else
  ucontext_t sched_uc;
#endif
  Fiber *cur = nullptr;
  const Dispatch *d = nullptr;
  uint32_t gid[3];
  unsigned char *arena = new_arena(); // kTGLimit bytes, then a guard page
  size_t arena_used = 0, dyn_used = 0;
  struct Slot { const void *key; size_t off; };
  std::vector<Slot> slots;
  std::vector<void *> tgp;
  bool trapped = false;
  bool in_fiber = false; // a fiber runs (for the fault handler)
  int fault_sig = 0;
  void *fault_addr = nullptr;
  std::string err;
#if EMU_ASAN
  const void *main_bottom = nullptr;
  size_t main_size = 0;
#endif
};

thread_local Worker *tl_w;

// new_arena maps threadgroup memory followed by an inaccessible page, so a
// kernel writing past the 32 KiB faults instead of corrupting the runtime.
unsigned char *new_arena() {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = (kTGLimit + pg - 1) / pg * pg;
  void *m = mmap(nullptr, len + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    fprintf(stderr, "ingot-emu: cannot map threadgroup memory\n");
    abort();
  }
  mprotect((char *)m + len, pg, PROT_NONE);
  return (unsigned char *)m + (len - kTGLimit);
}

std::string fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

size_t page_size() {
  static size_t p = (size_t)sysconf(_SC_PAGESIZE);
  return p;
}

Fiber *new_fiber(int idx) {
  Fiber *f = new Fiber();
  // Stack tops at different offsets within a page: otherwise the hot top
  // of every fiber's stack maps to the same cache sets.
  f->stagger = size_t(idx * 832) & 4095 & ~size_t(63);
  size_t len = kStackSize + page_size();
  void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    fprintf(stderr, "ingot-emu: cannot map a fiber stack\n");
    abort();
  }
  mprotect(m, page_size(), PROT_NONE); // guard page below the stack
  f->mem = (char *)m;
  return f;
}

// ---- context switching ------------------------------------------------------
void fiber_main(Fiber *f);
std::string group_ctx(Worker *w);

#if !EMU_ASM
void fiber_main_uc() { fiber_main(tl_w->cur); }
#endif

void start_fiber(Fiber *f) {
  char *lo = f->mem + page_size();
#if EMU_ASM && defined(__aarch64__)
  uintptr_t top = ((uintptr_t)(lo + kStackSize - f->stagger)) & ~(uintptr_t)15;
  void **sp = (void **)(top - 160);
  for (int k = 0; k < 20; k++) sp[k] = nullptr;
  sp[0] = (void *)f;                 // x19
  sp[1] = (void *)&fiber_main;       // x20
  sp[11] = (void *)&emu_fiber_entry; // x30
  f->sp = sp;
#elif EMU_ASM
  uintptr_t top = ((uintptr_t)(lo + kStackSize - f->stagger)) & ~(uintptr_t)15;
  void **sp = (void **)(top - 56);
  sp[0] = nullptr;                  // r15
  sp[1] = nullptr;                  // r14
  sp[2] = (void *)&fiber_main;      // r13
  sp[3] = (void *)f;                // r12
  sp[4] = nullptr;                  // rbx
  sp[5] = nullptr;                  // rbp
  sp[6] = (void *)&emu_fiber_entry; // return address
  f->sp = sp;
#else
  getcontext(&f->uc);
  f->uc.uc_stack.ss_sp = lo;
  f->uc.uc_stack.ss_size = kStackSize - f->stagger;
  f->uc.uc_link = nullptr;
  makecontext(&f->uc, (void (*)())fiber_main_uc, 0);
#endif
}

// to_fiber switches from the worker's scheduler into f.
void to_fiber(Worker *w, Fiber *f) {
  w->cur = f;
  w->in_fiber = true;
#if EMU_ASAN
  void *fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f->mem + page_size(), kStackSize);
#endif
#if EMU_ASM
  emu_swap_ctx(&w->sched_sp, f->sp);
#else
  swapcontext(&w->sched_uc, &f->uc);
#endif
#if EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  w->in_fiber = false;
  if (w->fault_sig) { // the fiber faulted: see fault_handler
    if (w->fault_sig == SIGFPE)
      w->err = fmt("%s, thread %u: arithmetic fault (SIGFPE): integer division by zero?", group_ctx(w).c_str(), f->t.a[EMU_A_TINDEX][0]);
    else
      w->err = fmt("%s, thread %u: memory fault (%s) at address %p: out of bounds or use after free?", group_ctx(w).c_str(),
                   f->t.a[EMU_A_TINDEX][0], w->fault_sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", w->fault_addr);
    w->fault_sig = 0;
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGSEGV);
    sigaddset(&ss, SIGBUS);
    sigaddset(&ss, SIGFPE);
    pthread_sigmask(SIG_UNBLOCK, &ss, nullptr);
  }
}

// to_sched switches from the running fiber back to the scheduler. A fiber
// that will never run again (finished or trapped) passes dying.
void to_sched(Worker *w, Fiber *f, bool dying) {
#if EMU_ASAN
  void *fake = nullptr;
  __sanitizer_start_switch_fiber(dying ? nullptr : &fake, w->main_bottom, w->main_size);
#else
  (void)dying;
#endif
#if EMU_ASM
  emu_swap_ctx(&f->sp, w->sched_sp);
#else
  swapcontext(&f->uc, &w->sched_uc);
#endif
#if EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

void fiber_main(Fiber *f) {
  Worker *w = tl_w;
#if EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w->main_bottom, &w->main_size);
#endif
  w->d->k->fn(&f->t);
  f->state = F_DONE;
  to_sched(w, f, true);
  __builtin_trap();
}

// ---- running a threadgroup --------------------------------------------------
std::string group_ctx(Worker *w) {
  return fmt("kernel %s, threadgroup (%u,%u,%u)", w->d->k->name.c_str(), w->gid[0], w->gid[1], w->gid[2]);
}

bool same_site(const Fiber *a, const Fiber *b) {
  return a->wl == b->wl && a->wc == b->wc && a->wfn == b->wfn && a->wscope == b->wscope &&
         (a->wf == b->wf || strcmp(a->wf, b->wf) == 0);
}

bool run_group_fibers(Worker *w, uint64_t gi);

// run_group runs threadgroup gi of w->d; false (with w->err set) on a trap
// or a barrier error. Then the group's fibers are abandoned mid-call; under
// AddressSanitizer their stacks' shadow must be cleared before reuse.
bool run_group(Worker *w, uint64_t gi) {
  if (run_group_fibers(w, gi)) return true;
#if EMU_ASAN
  for (Fiber *f : w->fibers) ASAN_UNPOISON_MEMORY_REGION(f->mem + page_size(), kStackSize);
#endif
  return false;
}

bool run_group_fibers(Worker *w, uint64_t gi) {
  const Dispatch &d = *w->d;
  w->gid[0] = uint32_t(gi % d.G[0]);
  w->gid[1] = uint32_t((gi / d.G[0]) % d.G[1]);
  w->gid[2] = uint32_t(gi / (uint64_t(d.G[0]) * d.G[1]));
  int n = int(d.T[0] * d.T[1] * d.T[2]);
  while ((int)w->fibers.size() < n) w->fibers.push_back(new_fiber(int(w->fibers.size())));

  // dynamic threadgroup memory, poisoned with 0xff bytes (NaN as float)
  w->tgp.resize(d.tg.size());
  size_t off = 0;
  for (size_t i = 0; i < d.tg.size(); i++) {
    w->tgp[i] = w->arena + off;
    off += (d.tg[i] + 15) & ~size_t(15);
  }
#if EMU_ASAN
  ASAN_UNPOISON_MEMORY_REGION(w->arena, kTGLimit);
#endif
  memset(w->arena, 0xff, off);
#if EMU_ASAN
  // only the bytes of each variable are addressable: ASan reports kernels
  // indexing past a threadgroup array
  ASAN_POISON_MEMORY_REGION(w->arena, kTGLimit);
  for (size_t i = 0; i < d.tg.size(); i++) ASAN_UNPOISON_MEMORY_REGION(w->tgp[i], d.tg[i]);
#endif
  w->arena_used = w->dyn_used = off;
  w->slots.clear();
  w->trapped = false;

  int nsg = (n + 31) / 32;
  for (int i = 0; i < n; i++) {
    Fiber *f = w->fibers[i];
    unsigned l[3] = {i % d.T[0], (i / d.T[0]) % d.T[1], i / (d.T[0] * d.T[1])};
    emu_thread &t = f->t;
    memset(t.a, 0, sizeof t.a);
    for (int c = 0; c < 3; c++) {
      t.a[EMU_A_TPTG][c] = l[c];
      t.a[EMU_A_TGPIG][c] = w->gid[c];
      t.a[EMU_A_TPTGSZ][c] = d.T[c];
      t.a[EMU_A_TGPG][c] = d.G[c];
      t.a[EMU_A_TPGRID][c] = d.G[c] * d.T[c];
      t.a[EMU_A_TPIG][c] = w->gid[c] * d.T[c] + l[c];
    }
    t.a[EMU_A_TINDEX][0] = i;
    t.a[EMU_A_LANE][0] = i % 32;
    t.a[EMU_A_SG][0] = i / 32;
    t.a[EMU_A_SIMDW][0] = 32;
    t.a[EMU_A_NSG][0] = nsg;
    t.a[EMU_A_QLANE][0] = i % 4;
    t.a[EMU_A_QG][0] = i / 4;
    t.bufs = d.bufs.data();
    t.tg = w->tgp.data();
    f->state = F_RUN;
    start_fiber(f);
  }

  const void *in[32];
  void *out[32];
  int arg[32];
  for (uint64_t round = 0;; round++) {
    // One SIMD group at a time runs until all its lanes wait at a
    // threadgroup barrier or have returned; only SIMD collectives interleave
    // its lanes. So data passed between SIMD groups without a threadgroup
    // barrier is not there yet. The order of groups and of lanes alternates
    // (by threadgroup and by round) so a missing barrier shows whichever
    // direction the data flows.
    bool rev = ((gi + round) & 1) != 0;
    for (int q = 0; q < nsg; q++) {
      int sg = rev ? nsg - 1 - q : q;
      int base = sg * 32, end = base + 32 < n ? base + 32 : n;
      for (;;) {
        for (int k = base; k < end; k++) {
          Fiber *f = w->fibers[rev ? end - 1 - (k - base) : k];
          if (f->state != F_RUN) continue;
          to_fiber(w, f);
          if (w->trapped) return false;
        }
        // All lanes are blocked. The lanes waiting at one SIMD site are its
        // active lanes; the rest has returned or waits elsewhere
        // (divergence) and is inactive for it.
        bool progress = false;
        for (;;) {
          Fiber *first = nullptr;
          for (int i = base; i < end && !first; i++)
            if (w->fibers[i]->state == F_SIMD) first = w->fibers[i];
          if (!first) break;
          for (int l = 0; l < 32; l++) { in[l] = nullptr; out[l] = nullptr; arg[l] = 0; }
          for (int i = base; i < end; i++) {
            Fiber *f = w->fibers[i];
            if (f->state == F_SIMD && same_site(f, first)) {
              in[i - base] = f->win;
              out[i - base] = f->wout;
              arg[i - base] = f->warg;
              f->state = F_RUN;
            }
          }
          if (first->wfn) first->wfn(in, out, arg);
          progress = true;
        }
        if (!progress) break;
      }
    }
    int done = 0;
    for (int i = 0; i < n; i++) done += w->fibers[i]->state == F_DONE;
    if (done == n) return true;

    // Only threadgroup barriers remain: all threads must wait at one site.
    Fiber *first = nullptr;
    int waiting = 0;
    for (int i = 0; i < n; i++) {
      Fiber *f = w->fibers[i];
      if (f->state != F_BAR) continue;
      waiting++;
      if (!first) {
        first = f;
      } else if (!same_site(f, first)) {
        w->err = fmt("%s: threadgroup_barrier reached at different call sites: thread %u at %s:%d, thread %u at %s:%d",
                     group_ctx(w).c_str(), first->t.a[EMU_A_TINDEX][0], first->wf, first->wl, f->t.a[EMU_A_TINDEX][0], f->wf, f->wl);
        return false;
      }
    }
    if (done > 0) {
      w->err = fmt("%s: threadgroup_barrier at %s:%d reached by %d of %d threads (the other %d returned without it)",
                   group_ctx(w).c_str(), first->wf, first->wl, waiting, n, done);
      return false;
    }
    for (int i = 0; i < n; i++) w->fibers[i]->state = F_RUN;
  }
}

// ---- the GPU: command queue and worker pool -----------------------------------
struct Job {
  const Dispatch *d;
  uint64_t total;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  int active = 0; // pool workers inside participate (guarded by g_pool_mu)
  std::mutex err_mu;
  std::string err;
};

std::mutex g_pool_mu;
std::condition_variable g_pool_cv, g_pool_done_cv;
Job *g_job = nullptr;
uint64_t g_job_gen = 0;

std::mutex g_q_mu;
std::condition_variable g_q_cv;
std::deque<CmdBuf *> g_queue;
std::once_flag g_init_once;

// Workers by OS thread id, for the fault handler (no TLS in a handler).
constexpr int kMaxWorkers = 256;
std::atomic<int> g_nworkers{0};
std::atomic<long> g_worker_tid[kMaxWorkers];
Worker *g_worker_ptr[kMaxWorkers];

Worker *this_worker() {
  if (!tl_w) {
    tl_w = new Worker();
    int i = g_nworkers.load();
    if (i < kMaxWorkers) {
      g_worker_ptr[i] = tl_w;
      g_worker_tid[i].store(syscall(SYS_gettid));
      g_nworkers.store(i + 1);
    }
  }
  return tl_w;
}

#if !EMU_ASAN
// A memory fault in kernel code (e.g. reading past a buffer into its guard
// page) ends the threadgroup with an error instead of killing the process.
// Faults elsewhere go to the previous (Go's) handler, as Go requires.
struct sigaction g_prev_segv, g_prev_bus, g_prev_fpe;

void chain_fault(int sig, siginfo_t *si, void *uc) {
  struct sigaction *p = sig == SIGSEGV ? &g_prev_segv : sig == SIGBUS ? &g_prev_bus : &g_prev_fpe;
  if (p->sa_flags & SA_SIGINFO) {
    p->sa_sigaction(sig, si, uc);
  } else if (p->sa_handler == SIG_DFL || p->sa_handler == SIG_IGN) {
    signal(sig, SIG_DFL); // the faulting instruction runs again and kills
  } else {
    p->sa_handler(sig);
  }
}

void fault_handler(int sig, siginfo_t *si, void *uc) {
  long tid = syscall(SYS_gettid);
  Worker *w = nullptr;
  int n = g_nworkers.load();
  for (int i = 0; i < n && !w; i++)
    if (g_worker_tid[i].load() == tid) w = g_worker_ptr[i];
  if (!w || !w->in_fiber || !w->cur) {
    chain_fault(sig, si, uc);
    return;
  }
  Fiber *f = w->cur;
  w->fault_sig = sig;
  w->fault_addr = si->si_addr;
  w->trapped = true;
  // leave the fiber for good; the scheduler unblocks the signal again
#if EMU_ASM
  emu_swap_ctx(&f->sp, w->sched_sp);
#else
  swapcontext(&f->uc, &w->sched_uc);
#endif
}

void install_fault_handler() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
  sigaction(SIGFPE, &sa, &g_prev_fpe); // integer division by zero
}
#endif

void participate(Job *j) {
  Worker *w = this_worker();
  w->d = j->d;
  for (;;) {
    if (j->failed.load(std::memory_order_relaxed)) break;
    uint64_t gi = j->next.fetch_add(1);
    if (gi >= j->total) break;
    if (!run_group(w, gi)) {
      std::lock_guard<std::mutex> lk(j->err_mu);
      if (!j->failed.exchange(true)) j->err = w->err;
      break;
    }
  }
  w->d = nullptr;
}

void pool_thread() {
  uint64_t seen = 0;
  for (;;) {
    Job *j;
    {
      std::unique_lock<std::mutex> lk(g_pool_mu);
      g_pool_cv.wait(lk, [&] { return g_job_gen != seen; });
      seen = g_job_gen;
      j = g_job;
      if (!j) continue;
      j->active++;
    }
    participate(j);
    {
      std::lock_guard<std::mutex> lk(g_pool_mu);
      if (--j->active == 0) g_pool_done_cv.notify_all();
    }
  }
}

std::string run_dispatch(const Dispatch &d) {
  Job j;
  j.d = &d;
  j.total = uint64_t(d.G[0]) * d.G[1] * d.G[2];
  {
    std::lock_guard<std::mutex> lk(g_pool_mu);
    g_job = &j;
    g_job_gen++;
  }
  g_pool_cv.notify_all();
  participate(&j);
  {
    std::unique_lock<std::mutex> lk(g_pool_mu);
    g_job = nullptr;
    g_pool_done_cv.wait(lk, [&] { return j.active == 0; });
  }
  return j.failed ? j.err : std::string();
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void gpu_thread() {
  for (;;) {
    CmdBuf *cb;
    {
      std::unique_lock<std::mutex> lk(g_q_mu);
      g_q_cv.wait(lk, [] { return !g_queue.empty(); });
      cb = g_queue.front();
      g_queue.pop_front();
    }
    double t0 = now();
    std::string err;
    for (size_t i = 0; i < cb->ds.size() && err.empty(); i++) {
      cb->current = int(i);
      err = run_dispatch(cb->ds[i]);
      if (!err.empty()) err = fmt("dispatch %zu: ", i) + err;
    }
    double t1 = now();
    std::lock_guard<std::mutex> lk(cb->mu);
    cb->err = err;
    cb->secs = t1 - t0;
    cb->done = true;
    cb->cv.notify_all();
  }
}

// ---- buffers ------------------------------------------------------------------
std::mutex g_quar_mu;
std::deque<std::pair<void *, size_t>> g_quar;
size_t g_quar_bytes = 0;
constexpr size_t kQuarBytes = 256 << 20, kQuarCount = 1024;

} // namespace

// ---- entry points used by kernel libraries -----------------------------------
extern "C" int emu_register(const char *name, const char *file, emu_entry_fn fn, const emu_param *params, int nparams, int max_threads) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  Kernel *k = new Kernel();
  k->name = name;
  k->file = file;
  k->fn = fn;
  k->ps.assign(params, params + nparams);
  k->lib = g_loading;
  k->max_threads = max_threads;
  g_kernels.push_back(k);
  return 0;
}

extern "C" void emu_trap(const char *msg) {
  Worker *w = tl_w;
  if (!w || !w->cur || !w->d) {
    fprintf(stderr, "ingot-emu: trap outside a kernel: %s\n", msg);
    abort();
  }
  Fiber *f = w->cur;
  w->err = fmt("%s, thread %u: %s", group_ctx(w).c_str(), f->t.a[EMU_A_TINDEX][0], msg);
  w->trapped = true;
  to_sched(w, f, true);
  __builtin_trap();
}

extern "C" void emu_barrier(int simd_scope, const char *file, int line, int counter) {
  Worker *w = tl_w;
  Fiber *f = w->cur;
  f->wf = file;
  f->wl = line;
  f->wc = counter;
  f->wscope = simd_scope;
  f->wfn = nullptr;
  f->win = nullptr;
  f->wout = nullptr;
  f->warg = 0;
  f->state = simd_scope ? F_SIMD : F_BAR;
  to_sched(w, f, false);
}

extern "C" void emu_simd(const void *in, void *out, int arg, emu_resolve_fn fn, const char *file, int line, int counter) {
  Worker *w = tl_w;
  Fiber *f = w->cur;
  f->wf = file;
  f->wl = line;
  f->wc = counter;
  f->wscope = 2;
  f->wfn = fn;
  f->win = in;
  f->wout = out;
  f->warg = arg;
  f->state = F_SIMD;
  to_sched(w, f, false);
}

extern "C" void *emu_tg_static(unsigned long size, unsigned long align, const void *key, const char *name) {
  Worker *w = tl_w;
  for (auto &s : w->slots)
    if (s.key == key) return w->arena + s.off;
  size_t a = align < 16 ? 16 : align;
  size_t off = (w->arena_used + a - 1) & ~(a - 1);
  if (off + size > kTGLimit) {
    emu_trap(fmt("threadgroup variable '%s' (%lu bytes) brings threadgroup memory to %zu bytes, over the %zu-byte limit",
                 name, size, off + size, kTGLimit).c_str());
  }
#if EMU_ASAN
  ASAN_UNPOISON_MEMORY_REGION(w->arena + off, size);
#endif
  memset(w->arena + off, 0xff, size);
  w->slots.push_back({key, off});
  w->arena_used = off + size;
  unsigned st = unsigned(w->arena_used - w->dyn_used), old = w->d->k->static_tg.load();
  while (old < st && !w->d->k->static_tg.compare_exchange_weak(old, st)) {}
  return w->arena + off;
}

// ---- entry points used by the Go driver ---------------------------------------
extern "C" int emu_init(int nthreads) {
  std::call_once(g_init_once, [nthreads] {
    int n = nthreads > 0 ? nthreads : (int)std::thread::hardware_concurrency();
    if (n < 1) n = 1;
    // The emulator's threads inherit a mask that blocks asynchronous
    // signals (SIGCHLD of the compiler, Go's SIGURG, ...): the Go runtime's
    // handlers must not run on threads Go does not know. Faults (SIGSEGV of
    // a bad kernel) still arrive.
    sigset_t all, old;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread(gpu_thread).detach();
    for (int i = 1; i < n; i++) std::thread(pool_thread).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
#if !EMU_ASAN
    install_fault_handler();
#endif
  });
  return 0;
}

// Buffers end at an inaccessible page (rounded up to 16 bytes), so a kernel
// reading or writing past the end faults (reported by Wait). Under ASan the
// allocator's redzones do this more precisely.
#if !EMU_ASAN
size_t buf_span(size_t size, size_t *rsize) {
  size_t pg = page_size();
  *rsize = ((size ? size : 1) + 15) & ~size_t(15);
  return (*rsize + pg - 1) / pg * pg;
}
#endif

extern "C" void *emu_alloc(size_t size) {
#if EMU_ASAN
  void *p = nullptr;
  if (posix_memalign(&p, 256, size ? size : 1) != 0) return nullptr;
  memset(p, 0, size);
  return p;
#else
  size_t rsize, span = buf_span(size, &rsize);
  void *m = mmap(nullptr, span + page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  mprotect((char *)m + span, page_size(), PROT_NONE);
  return (char *)m + span - rsize;
#endif
}

void release_memory(void *p, size_t size) {
#if EMU_ASAN
  (void)size;
  free(p);
#else
  size_t rsize, span = buf_span(size, &rsize);
  munmap((char *)p + rsize - span, span + page_size());
#endif
}

// emu_free poisons the buffer with 0xff bytes (NaN as float) and keeps it in
// a quarantine for a while, so a stale pointer reads poison, not new data.
extern "C" void emu_free(void *p, size_t size) {
  if (!p) return;
  memset(p, 0xff, size);
  std::lock_guard<std::mutex> lk(g_quar_mu);
  g_quar.push_back({p, size});
  g_quar_bytes += size;
  while (g_quar.size() > kQuarCount || g_quar_bytes > kQuarBytes) {
    release_memory(g_quar.front().first, g_quar.front().second);
    g_quar_bytes -= g_quar.front().second;
    g_quar.pop_front();
  }
}

extern "C" int emu_load(const char *path, char *err, int errlen) {
  std::lock_guard<std::mutex> lk(g_load_mu);
  int id;
  {
    std::lock_guard<std::mutex> rl(g_reg_mu);
    id = g_next_lib++;
    g_loading = id;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  {
    std::lock_guard<std::mutex> rl(g_reg_mu);
    g_loading = -1;
  }
  if (!h) {
    snprintf(err, errlen, "%s", dlerror());
    return -1;
  }
  auto it = g_handle_lib.find(h);
  if (it != g_handle_lib.end()) return it->second;
  g_handle_lib[h] = id;
  std::lock_guard<std::mutex> rl(g_reg_mu);
  for (size_t i = 0; i < g_kernels.size(); i++)
    for (size_t j = i + 1; j < g_kernels.size(); j++)
      if (g_kernels[i]->lib == id && g_kernels[j]->lib == id && g_kernels[i]->name == g_kernels[j]->name) {
        snprintf(err, errlen, "kernel name %s defined twice (%s and %s)", g_kernels[i]->name.c_str(),
                 g_kernels[i]->file.c_str(), g_kernels[j]->file.c_str());
        return -1;
      }
  return id;
}

extern "C" int emu_find(int lib, const char *name) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  for (size_t i = 0; i < g_kernels.size(); i++)
    if (g_kernels[i]->lib == lib && g_kernels[i]->name == name) return int(i);
  return -1;
}

extern "C" int emu_kernel_nparams(int k) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  return int(g_kernels[k]->ps.size());
}

extern "C" int emu_kernel_max_threads(int k) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  return g_kernels[k]->max_threads;
}

extern "C" unsigned emu_kernel_static_tg(int k) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  return g_kernels[k]->static_tg.load();
}

// emu_kernel_param writes kind, index, size, is_ref of parameter i.
extern "C" void emu_kernel_param(int k, int i, int *out) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  const emu_param &p = g_kernels[k]->ps[i];
  out[0] = p.kind;
  out[1] = p.index;
  out[2] = int(p.size);
  out[3] = p.is_ref;
}

extern "C" void *emu_cb_new() { return new CmdBuf(); }

// emu_cb_bytes copies inline argument bytes (setBytes) into memory the
// command buffer owns.
extern "C" void *emu_cb_bytes(void *cbp, const void *src, size_t n) {
  CmdBuf *cb = (CmdBuf *)cbp;
  void *p = malloc(n ? n : 1);
  memcpy(p, src, n);
  cb->owned.push_back(p);
  return p;
}

extern "C" void emu_cb_encode(void *cbp, int kernel, const uint64_t *bufs, int nbufs, const uint32_t *tg, int ntg, const uint32_t *grid) {
  CmdBuf *cb = (CmdBuf *)cbp;
  Dispatch d;
  {
    std::lock_guard<std::mutex> lk(g_reg_mu);
    d.k = g_kernels[kernel];
  }
  for (int i = 0; i < nbufs; i++) d.bufs.push_back((void *)(uintptr_t)bufs[i]);
  d.tg.assign(tg, tg + ntg);
  for (int c = 0; c < 3; c++) {
    d.G[c] = grid[c];
    d.T[c] = grid[3 + c];
  }
  cb->ds.push_back(std::move(d));
}

extern "C" void emu_cb_commit(void *cbp) {
  CmdBuf *cb = (CmdBuf *)cbp;
  cb->committed = true;
  {
    std::lock_guard<std::mutex> lk(g_q_mu);
    g_queue.push_back(cb);
  }
  g_q_cv.notify_one();
}

// emu_cb_wait blocks until the command buffer ran; 0 on success, else 1 and
// the error message in err.
// After timeout seconds it gives up and returns 2: the work is still running
// (a kernel that never ends) and the command buffer must not be freed.
extern "C" int emu_cb_wait(void *cbp, char *err, int errlen, double *secs, double timeout) {
  CmdBuf *cb = (CmdBuf *)cbp;
  std::unique_lock<std::mutex> lk(cb->mu);
  if (!cb->cv.wait_for(lk, std::chrono::duration<double>(timeout), [cb] { return cb->done; })) {
    int i = cb->current;
    snprintf(err, errlen, "command buffer still running after %g s: dispatch %d (kernel %s) does not finish", timeout, i,
             i >= 0 ? cb->ds[i].k->name.c_str() : "none started");
    return 2;
  }
  *secs = cb->secs;
  if (cb->err.empty()) return 0;
  snprintf(err, errlen, "%s", cb->err.c_str());
  return 1;
}

// emu_cb_done reports whether committed work has finished, without waiting.
extern "C" int emu_cb_done(void *cbp) {
  CmdBuf *cb = (CmdBuf *)cbp;
  std::lock_guard<std::mutex> lk(cb->mu);
  return cb->done ? 1 : 0;
}

extern "C" void emu_cb_free(void *cbp) {
  CmdBuf *cb = (CmdBuf *)cbp;
  for (void *p : cb->owned) free(p);
  delete cb;
}

extern "C" int emu_max_group_threads() { return kMaxGroupThreads; }

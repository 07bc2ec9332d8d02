// Counts every allocation of the benchmark process, on every thread: malloc and
// its family are replaced (as glibc allows, forwarding to its __libc_* functions),
// so that nats.c's allocations count as well as C++'s (operator new calls malloc).
// Linked into both benchmark programs, never into the library.
#include "bench_common.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

// One counter per thread, each on its own cache line: a shared counter would
// make every allocation of every thread contend for one line, adding to the CPU
// per message being measured (the counting itself stays within a few nanoseconds).
struct alignas(64) counter {
  std::atomic<std::uint64_t> value{0};
};
constexpr int slots = 64;  // threads beyond it share slots (still counted exactly)
counter counts[slots];
std::atomic<int> threads_seen{0};
thread_local int slot = -1;

void counted() {
  if (slot < 0) slot = threads_seen.fetch_add(1, std::memory_order_relaxed) % slots;
  counts[slot].value.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::uint64_t bench::allocations() {
  std::uint64_t total = 0;
  for (const auto& c : counts) total += c.value.load(std::memory_order_relaxed);
  return total;
}

extern "C" {
void* malloc(std::size_t n) {
  counted();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  counted();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  counted();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(std::size_t alignment, std::size_t n) {
  counted();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) { return memalign(alignment, n); }
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  void* p = memalign(alignment, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

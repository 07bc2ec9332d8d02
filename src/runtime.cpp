#include <natscoro/detail/runtime.hpp>

#include <nats/nats.h>

namespace natscoro::detail {

runtime& runtime::instance() {
  static runtime the_runtime;
  return the_runtime;
}

runtime::runtime() {
  // -1: nats.c's default spin count for its locks.
  nats_Open(-1);
}

runtime::~runtime() {
  pool_.join();
  // Frees nats.c's global threads and memory once every connection is gone;
  // bounded so that a leaked connection cannot hang the exit.
  nats_CloseAndWait(2000);
}

}  // namespace natscoro::detail

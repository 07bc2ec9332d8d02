// The counters of a consumer's current or last run(): created with the consumer,
// shared by its handles, kept by the runner (runner_core) while a run lasts and
// read by consumer::run_stats() during and after it.
#pragma once

#include <natscoro/detail/shared_stats.hpp>
#include <natscoro/runner.hpp>

namespace natscoro::detail {

struct run_counters : shared_stats<runner_stats> {};

}  // namespace natscoro::detail

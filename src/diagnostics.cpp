#include <natscoro/diagnostics.hpp>

namespace natscoro::detail {
namespace {

// Set only while a with_diagnostics adapter runs an initiation on this thread.
thread_local diagnostics_sink current_sink;

}  // namespace

diagnostics_sink take_current_diagnostics_sink() { return std::exchange(current_sink, nullptr); }

diagnostics_scope::diagnostics_scope(diagnostics_sink sink) : previous_(std::exchange(current_sink, std::move(sink))) {}

diagnostics_scope::~diagnostics_scope() { current_sink = std::move(previous_); }

}  // namespace natscoro::detail

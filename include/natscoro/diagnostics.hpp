// Diagnostics that travel with an error: what the server said (its description
// and JetStream error code), which configuration fields differ, which argument
// was refused. An error_code alone says only the kind of failure.
//
//   co_await js.ensure_stream(cfg);               // the default token (in a coroutine): throws
//                                                 // natscoro::error, whose what() and detail() hold them
//   nc::diagnostics diag;                         // any other token: ask for them
//   auto [ec, r] = co_await js.ensure_stream(cfg, nc::with_diagnostics(diag, asio::as_tuple(asio::deferred)));
//   if (ec) std::cerr << diag.message << "\n";
#pragma once

#include <natscoro/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

namespace natscoro {

/// What went wrong, in words: the server's description and code, the differing
/// fields, the refused argument. Empty when there is nothing to add to the error code.
struct diagnostics {
  std::string message;
};

/// Completion token adapter: the signature stays `void(error_code, Ts...)`; before
/// the handler runs with an error, `*out` holds the diagnostics. `*out` must outlive the operation.
template <class Token>
struct into_diagnostics_t {
  diagnostics* out;
  Token token;
};

template <class Token>
into_diagnostics_t<std::decay_t<Token>> with_diagnostics(diagnostics& out, Token&& token) {
  return {&out, std::forward<Token>(token)};
}

/// The default completion token of natscoro's asynchronous operations: the
/// operation becomes an `awaitable<T>` (`awaitable<void>` without a value) that
/// starts when awaited and throws natscoro::error, diagnostics included, on error.
/// (Boost 1.81's awaitable cannot rethrow a `void(std::exception_ptr, T)`
/// completion, which rules out an adapter over deferred.)
struct default_token_t {};

namespace detail {

/// Where an operation started under a with_diagnostics adapter writes its diagnostics.
using diagnostics_sink = std::shared_ptr<diagnostics>;

/// The sink of the adapter whose initiation is running on this thread, taken by
/// the first pending_operation created in it (the operation itself; what it
/// starts internally gets none). Null outside such an initiation.
diagnostics_sink take_current_diagnostics_sink();

/// Makes `sink` the current one while an adapter runs an operation's initiation.
class diagnostics_scope {
 public:
  explicit diagnostics_scope(diagnostics_sink sink);
  ~diagnostics_scope();
  diagnostics_scope(const diagnostics_scope&) = delete;
  diagnostics_scope& operator=(const diagnostics_scope&) = delete;

 private:
  diagnostics_sink previous_;
};

/// The error an adapter delivers: the code, and the diagnostics when there are any.
inline error make_error(error_code ec, const diagnostics_sink& sink) {
  return sink && !sink->message.empty() ? error(ec, sink->message) : error(ec);
}

/// Passes the completion on, after copying the diagnostics to `*out` on error.
template <class Handler>
class diagnosing_handler {
 public:
  diagnosing_handler(Handler handler, diagnostics_sink sink, diagnostics* out)
      : handler_(std::move(handler)), sink_(std::move(sink)), out_(out) {}

  template <class... Ts>
  void operator()(error_code ec, Ts&&... values) {
    if (ec && out_ != nullptr) *out_ = sink_ ? *sink_ : diagnostics{};
    std::move(handler_)(ec, std::forward<Ts>(values)...);
  }

  Handler handler_;

 private:
  diagnostics_sink sink_;
  diagnostics* out_;
};

/// Runs an operation's initiation with `sink` current, its handler wrapped.
template <class Initiation>
struct diagnosing_initiation {
  Initiation initiation;
  diagnostics_sink sink;
  diagnostics* out;

  template <class Handler, class... Args>
  void operator()(Handler&& handler, Args&&... args) && {
    diagnostics_scope scope(sink);
    std::move(initiation)(diagnosing_handler<std::decay_t<Handler>>(std::forward<Handler>(handler), sink, out),
                          std::forward<Args>(args)...);
  }
};

template <class... Ts>
struct awaited_value {
  using type = std::tuple<Ts...>;
};
template <class T>
struct awaited_value<T> {
  using type = T;
};
template <>
struct awaited_value<> {
  using type = void;
};

/// The default token's coroutine: awaits the operation, throws on error.
template <class... Ts, class Initiation, class... Args>
boost::asio::awaitable<typename awaited_value<Ts...>::type> await_with_diagnostics(Initiation initiation,
                                                                                   Args... args) {
  auto sink = std::make_shared<diagnostics>();
  auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
  auto result = co_await boost::asio::async_initiate<decltype(token), void(error_code, Ts...)>(
      diagnosing_initiation<Initiation>{std::move(initiation), sink, nullptr}, token, std::move(args)...);
  if (const error_code ec = std::get<0>(result)) throw make_error(ec, sink);
  if constexpr (sizeof...(Ts) == 1) {
    co_return std::move(std::get<1>(result));
  } else if constexpr (sizeof...(Ts) > 1) {
    co_return std::apply([](error_code, auto&&... v) { return std::make_tuple(std::move(v)...); }, std::move(result));
  }
}

}  // namespace detail
}  // namespace natscoro

namespace boost::asio {

template <class... Ts>
struct async_result<natscoro::default_token_t, void(natscoro::error_code, Ts...)> {
  using return_type = awaitable<typename natscoro::detail::awaited_value<Ts...>::type>;
  template <class Initiation, class RawToken, class... Args>
  static return_type initiate(Initiation&& initiation, RawToken&&, Args&&... args) {
    return natscoro::detail::await_with_diagnostics<Ts...>(std::forward<Initiation>(initiation),
                                                           std::decay_t<Args>(std::forward<Args>(args))...);
  }
};

template <class Token, class... Ts>
struct async_result<natscoro::into_diagnostics_t<Token>, void(natscoro::error_code, Ts...)> {
  template <class Initiation, class RawToken, class... Args>
  static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
    return async_initiate<Token, void(natscoro::error_code, Ts...)>(
        natscoro::detail::diagnosing_initiation<std::decay_t<Initiation>>{
            std::forward<Initiation>(initiation), std::make_shared<natscoro::diagnostics>(), token.out},
        token.token, std::forward<Args>(args)...);
  }
};

/// The handler's executor, allocator and cancellation slot are those of the handler it wraps.
template <template <typename, typename> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, natscoro::detail::diagnosing_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const natscoro::detail::diagnosing_handler<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler_);
  }
  static auto get(const natscoro::detail::diagnosing_handler<Handler>& h, const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
  }
};

}  // namespace boost::asio

// The event router: event type -> typed handler, usable as the runner's handler
// (consumer::run(router, options)). The data is converted with Boost.JSON's
// value_to: a struct described with BOOST_DESCRIBE_STRUCT needs no hand-written
// conversion; others provide tag_invoke(value_to_tag<T>, ...).
#pragma once

#include <natscoro/message.hpp>
#include <natscoro/runner.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace natscoro {

/// What the router does with an event whose type has no handler.
enum class unknown_event_policy {
  dead_letter,  ///< throw permanent_error: the runner dead-letters it at once
  ack_and_log,  ///< log a warning and acknowledge it (a type this service does not care for)
};

class event_router {
 public:
  explicit event_router(unknown_event_policy unknown = unknown_event_policy::dead_letter) : unknown_(unknown) {}

  /// Routes events of `type` to `handler`, an awaitable<void>(const T&, message&)
  /// callable (a coroutine lambda without captures, or one whose captures outlive
  /// the run). The data is converted with event::data_as<T>; data that does not
  /// convert is a permanent failure (dead-lettered with the reason). A second
  /// handler for the same type replaces the first.
  template <class T, class Handler>
  event_router& on(std::string type, Handler handler) {
    auto shared = std::make_shared<Handler>(std::move(handler));
    routes_[std::move(type)] = [shared](const event& evt, message& msg) { return dispatch<T>(*shared, evt, msg); };
    return *this;
  }

  /// The runner's handler: decodes the message's event and calls the handler of
  /// its type. Throws permanent_error for an envelope that does not decode, data
  /// that does not convert, and (dead_letter policy) a type without a handler.
  boost::asio::awaitable<void> operator()(message& msg) const;

 private:
  using route = std::function<boost::asio::awaitable<void>(const event&, message&)>;

  template <class T, class Handler>
  static boost::asio::awaitable<void> dispatch(Handler& handler, const event& evt, message& msg) {
    const T value = convert<T>(evt);
    co_await handler(value, msg);
  }
  template <class T>
  static T convert(const event& evt) {
    try {
      return evt.data_as<T>();
    } catch (const error& e) {
      throw permanent_error("event " + evt.id + " of type " + evt.type + ": " + e.what());
    }
  }

  std::map<std::string, route, std::less<>> routes_;
  unknown_event_policy unknown_;
};

}  // namespace natscoro

#include <natscoro/event_router.hpp>
#include <natscoro/logging.hpp>

namespace natscoro {

boost::asio::awaitable<void> event_router::operator()(message& msg) const {
  event evt;
  try {
    evt = msg.event();
  } catch (const error& e) {
    throw permanent_error(std::string("not an event this router can read: ") + e.what());
  }
  const auto found = routes_.find(evt.type);
  if (found == routes_.end()) {
    if (unknown_ == unknown_event_policy::dead_letter)
      throw permanent_error("no handler for event type \"" + evt.type + "\" (event " + evt.id + ")");
    logger()->warn("no handler for event type \"{}\": event {} acknowledged", evt.type, evt.id);
    co_return;
  }
  co_await found->second(evt, msg);
}

}  // namespace natscoro

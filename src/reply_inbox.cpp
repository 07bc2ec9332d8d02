#include <natscoro/detail/reply_inbox.hpp>

#include <natscoro/detail/access.hpp>
#include <natscoro/detail/connection_core.hpp>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <charconv>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace natscoro::detail {

// Who runs when nats.c reports the subscription complete: shared by the router
// (nats.c's thread) and the inbox (the executor), so exactly one side runs it.
struct reply_inbox::completion {
  std::mutex mutex;
  bool done = false;                 // nats.c will call back no more
  std::function<void()> on_drained;  // set by drain()
  // The connection's count of subscription drains, and whether this one's drain is in it.
  std::shared_ptr<subscription_drains> drains;
  bool counted = false;

  /// This subscription's drain is over (or never started): uncounts it, once.
  void end_drain() {
    std::lock_guard lock(mutex);
    if (std::exchange(counted, false)) drains->end();
  }

  std::function<void()> take() {
    std::lock_guard lock(mutex);
    return std::exchange(on_drained, nullptr);
  }
};

// Replies received on nats.c's thread and not yet handed to the executor. One
// post carries all that arrived meanwhile: under load the executor is woken once
// per batch, not once per reply (the wake-up, not the copy, is what costs).
struct reply_inbox::mailbox {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, nats_msg_ptr>> replies;
  bool posted = false;  // a handover is on its way to the executor

  /// Runs on the executor: passes on everything received so far, in order.
  void hand_over(const std::weak_ptr<reply_inbox>& inbox) {
    std::vector<std::pair<std::uint64_t, nats_msg_ptr>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(replies);
      posted = false;
    }
    for (auto& [token, msg] : batch) {
      auto alive = inbox.lock();  // the owner may close the inbox from a handler
      if (!alive) return;
      alive->on_reply_(token, std::move(msg));
    }
  }
};

// The subscription's closure. It keeps the executor busy until nats.c reports
// that the subscription will call back no more, and only then goes.
struct reply_inbox::router {
  boost::asio::any_io_executor work;
  std::weak_ptr<reply_inbox> inbox;
  std::string prefix;
  std::shared_ptr<reply_inbox::completion> completion;
  std::shared_ptr<reply_inbox::mailbox> mailbox = std::make_shared<reply_inbox::mailbox>();

  static void on_message(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
    auto* self = static_cast<router*>(closure);
    nats_msg_ptr msg(raw);
    const char* subject = natsMsg_GetSubject(raw);
    const std::string_view s(subject);
    std::uint64_t token = 0;  // 0: not addressed to a token
    if (s.size() > self->prefix.size() && s.substr(0, self->prefix.size()) == self->prefix)
      std::from_chars(s.data() + self->prefix.size(), s.data() + s.size(), token);
    {
      std::lock_guard lock(self->mailbox->mutex);
      self->mailbox->replies.emplace_back(token, std::move(msg));
      if (std::exchange(self->mailbox->posted, true)) return;  // the pending handover takes it along
    }
    boost::asio::post(self->work, [mailbox = self->mailbox, inbox = self->inbox] { mailbox->hand_over(inbox); });
  }

  static void on_complete(void* closure) {
    std::unique_ptr<router> self(static_cast<router*>(closure));
    std::function<void()> on_drained;
    {
      std::lock_guard lock(self->completion->mutex);
      self->completion->done = true;
      on_drained = std::exchange(self->completion->on_drained, nullptr);
      if (std::exchange(self->completion->counted, false)) self->completion->drains->end();
    }
    if (on_drained) boost::asio::post(self->work, std::move(on_drained));
  }
};

std::shared_ptr<reply_inbox> reply_inbox::open(const connection& conn, const boost::asio::any_io_executor& ex,
                                               reply_handler on_reply, error_code& ec) {
  natsConnection* nc = conn.native_handle();
  if (nc == nullptr) {
    ec = make_error_code(errc::not_connected);
    return nullptr;
  }
  natsInbox* inbox_name = nullptr;
  if (auto s = natsInbox_Create(&inbox_name); s != NATS_OK) {
    ec = nats_error(s);
    return nullptr;
  }
  std::shared_ptr<reply_inbox> inbox(new reply_inbox());
  inbox->prefix_ = std::string(inbox_name) + ".";
  natsInbox_Destroy(inbox_name);
  inbox->on_reply_ = std::move(on_reply);

  inbox->completion_ = std::make_shared<completion>();
  inbox->completion_->drains = access::core(conn)->subscriptions_draining();
  auto* r = new router{boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked), inbox, inbox->prefix_,
                       inbox->completion_};
  const std::string wildcard = inbox->prefix_ + "*";
  natsStatus s = natsConnection_Subscribe(&inbox->sub_, nc, wildcard.c_str(), &router::on_message, r);
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(inbox->sub_, &router::on_complete, r);
  if (s != NATS_OK) {
    if (inbox->sub_ != nullptr) {  // subscribed, but no completion callback: nothing will call back after this
      natsSubscription_Unsubscribe(inbox->sub_);
      natsSubscription_Destroy(inbox->sub_);
      inbox->sub_ = nullptr;
    }
    delete r;
    ec = s == NATS_CONNECTION_CLOSED ? make_error_code(errc::not_connected) : nats_error(s);
    return nullptr;
  }
  // Replies must not be dropped as a slow consumer before the owner's own bound applies.
  natsSubscription_SetPendingLimits(inbox->sub_, -1, -1);
  return inbox;
}

void reply_inbox::drain(std::chrono::milliseconds limit, std::function<void()> on_drained) {
  if (sub_ == nullptr) return on_drained();
  bool may_drain = false;
  {
    std::lock_guard lock(completion_->mutex);
    if (!completion_->done) {
      completion_->on_drained = std::exchange(on_drained, nullptr);
      may_drain = completion_->counted = completion_->drains->begin();
    }
  }
  if (on_drained) return on_drained();  // closed already (e.g. with the connection)
  if (!may_drain) return;               // the connection is draining, this subscription with it: the completion follows
  if (natsSubscription_DrainTimeout(sub_, limit.count()) == NATS_OK) return;
  completion_->end_drain();
  if (auto f = completion_->take()) f();  // unless the completion took it meanwhile
}

reply_inbox::~reply_inbox() {
  if (sub_ == nullptr) return;
  natsSubscription_Unsubscribe(sub_);  // the router goes in on_complete
  natsSubscription_Destroy(sub_);
}

}  // namespace natscoro::detail

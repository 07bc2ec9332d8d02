// Applying a topology: plan every item against the server, then create or update.
#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/topology.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <memory>

namespace natscoro {
namespace json = boost::json;

namespace detail {
namespace {

using apply_operation = pending_operation<void(error_code, std::vector<topology_change>)>;

// Plans every item (info, compare), then applies what needs it, one item after another.
class topology_applier : public std::enable_shared_from_this<topology_applier> {
 public:
  topology_applier(jetstream js, topology t, bool dry_run, std::shared_ptr<apply_operation> op)
      : js_(std::move(js)), topology_(std::move(t)), dry_run_(dry_run), op_(std::move(op)) {}

  void plan(std::size_t i) {
    const std::size_t streams = topology_.streams.size();
    if (i == streams + topology_.consumers.size()) return planned();
    auto self = shared_from_this();
    if (i < streams) {
      const auto& s = topology_.streams[i];
      return access::api(js_)->request("STREAM.INFO", {s.name}, "", [self, i](error_code ec, json::value r) {
        self->on_info(i, ec, r, [&](const json::object& cfg) { return compare(self->topology_.streams[i], cfg); });
      });
    }
    const auto& c = topology_.consumers[i - streams];
    access::api(js_)->request("CONSUMER.INFO", {c.stream, c.config.durable}, "",
                              [self, i, streams](error_code ec, json::value r) {
                                self->on_info(i, ec, r, [&](const json::object& cfg) {
                                  return compare(self->topology_.consumers[i - streams].config, cfg);
                                });
                              });
  }

 private:
  template <class Compare>
  void on_info(std::size_t i, error_code ec, const json::value& reply, Compare differences_with) {
    const bool is_stream = i < topology_.streams.size();
    topology_change change;
    change.what = is_stream ? topology_change::kind::stream : topology_change::kind::consumer;
    change.name = is_stream ? topology_.streams[i].name
                            : topology_.consumers[i - topology_.streams.size()].stream + "/" +
                                  topology_.consumers[i - topology_.streams.size()].config.durable;
    if (ec == jetstream_errc::stream_not_found || ec == jetstream_errc::consumer_not_found) {
      change.result = ensure_result::created;
    } else if (ec) {
      logger()->error("apply: info of {} failed: {}", change.name, ec.message());
      return void(op_->complete(ec, std::move(changes_)));
    } else {
      const auto* cfg = reply.as_object().if_contains("config");
      const auto diffs =
          cfg && cfg->is_object() ? differences_with(cfg->as_object()) : std::vector<config_difference>{};
      change.result = diffs.empty() ? ensure_result::unchanged : ensure_result::updated;
      change.fields = describe(diffs);
      if (std::any_of(diffs.begin(), diffs.end(), [](const auto& d) { return !d.updatable; })) {
        logger()->error("apply: {} cannot be changed to the file's configuration: {}", change.name, change.fields);
        refused_ = true;
      }
    }
    changes_.push_back(std::move(change));
    plan(i + 1);
  }

  void planned() {
    if (refused_) return void(op_->complete(make_error_code(errc::config_mismatch), std::move(changes_)));
    if (dry_run_) return void(op_->complete({}, std::move(changes_)));
    apply(0);
  }

  void apply(std::size_t i) {
    if (i == changes_.size()) return void(op_->complete({}, std::move(changes_)));
    if (changes_[i].result == ensure_result::unchanged) return apply(i + 1);
    auto next = [self = shared_from_this(), i](error_code ec, ensure_result) {
      if (ec) {
        self->changes_.resize(i);  // what was applied before it
        return void(self->op_->complete(ec, std::move(self->changes_)));
      }
      self->apply(i + 1);
    };
    const std::size_t streams = topology_.streams.size();
    if (i < streams) return js_.ensure_stream(topology_.streams[i], next);
    const auto& c = topology_.consumers[i - streams];
    js_.ensure_consumer(c.stream, c.config, next);
  }

  jetstream js_;
  topology topology_;
  bool dry_run_;
  std::shared_ptr<apply_operation> op_;
  std::vector<topology_change> changes_;
  bool refused_ = false;
};

}  // namespace

void async_apply_topology(const jetstream& js, topology t, bool dry_run,
                          boost::asio::any_completion_handler<void(error_code, std::vector<topology_change>)> handler) {
  auto op = apply_operation::create(std::move(handler), js.get_executor());
  op->complete_on_terminal_cancel();
  std::make_shared<topology_applier>(js, std::move(t), dry_run, std::move(op))->plan(0);
}

}  // namespace detail
}  // namespace natscoro

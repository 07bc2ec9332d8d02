#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace natscoro {
namespace json = boost::json;
namespace {

using ensure_operation = detail::pending_operation<void(error_code, ensure_result)>;

std::string description_of(const json::value& reply) {
  std::string d;
  detail::api_error(reply, d);
  return d;
}

// Logs `text` and fails `op` with it as the caller's diagnostics.
template <class Op, class... Args>
void report(const std::shared_ptr<Op>& op, spdlog::level::level_enum level, std::string text, Args&&... args) {
  logger()->log(level, "{}", text);
  op->fail(std::move(text), std::forward<Args>(args)...);
}

// "<what>: <code's message> (<server's description>, JetStream error <err_code>)".
std::string reason(const std::string& what, error_code ec, const json::value& reply) {
  std::string said = description_of(reply);
  if (ec.category() == jetstream_category())
    said += (said.empty() ? "" : ", ") + std::string("JetStream error ") + std::to_string(ec.value());
  return what + ": " + ec.message() + (said.empty() ? "" : " (" + said + ")");
}

}  // namespace

jetstream::jetstream(connection conn) : jetstream(std::move(conn), options{}) {}

jetstream::jetstream(connection conn, options opts)
    : conn_(std::move(conn)),
      opts_(std::move(opts)),
      api_(std::make_shared<detail::api_client>(conn_, opts_.api_prefix, opts_.timeout)) {}

void jetstream::async_ensure_stream(stream_config cfg,
                                    boost::asio::any_completion_handler<void(error_code, ensure_result)> h) const {
  auto op = ensure_operation::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  for (const auto& subject : cfg.subjects) {  // they travel in the request's body: the server's error would be vaguer
    std::string detail;
    if (auto ec =
            detail::check_filter_subject("stream " + detail::printable(cfg.name, 64) + ": subject", subject, detail)) {
      return report(op, spdlog::level::err, detail, ec, ensure_result::unchanged);
    }
  }
  auto api = api_;
  const std::string name = cfg.name;  // the request's name outlives the move of `cfg` below
  api_->request("STREAM.INFO", {name}, "", [api, op, cfg = std::move(cfg)](error_code ec, json::value info) mutable {
    const std::string body = json::serialize(detail::to_json(cfg));
    // Creates or updates; logs and completes.
    auto apply = [api, op, name = cfg.name, body](const char* request, const char* verb, ensure_result result,
                                                  std::string changes) {
      api->request(request, {name}, body, [op, name, verb, result, changes](error_code ec, json::value r) {
        if (ec)
          return report(op, spdlog::level::err, reason("stream " + name + " not " + verb, ec, r), ec,
                        ensure_result::unchanged);
        logger()->info("{} stream {}{}{}", verb, name, changes.empty() ? "" : ": ", changes);
        op->complete({}, result);
      });
    };
    if (ec == jetstream_errc::stream_not_found) return apply("STREAM.CREATE", "created", ensure_result::created, {});
    if (ec)
      return report(op, spdlog::level::err, reason("stream info for " + cfg.name, ec, info), ec,
                    ensure_result::unchanged);
    const auto* server_cfg = info.as_object().if_contains("config");
    const auto differences = server_cfg && server_cfg->is_object() ? detail::compare(cfg, server_cfg->as_object())
                                                                   : std::vector<detail::config_difference>{};
    if (differences.empty()) {
      logger()->debug("stream {} is up to date", cfg.name);
      return void(op->complete({}, ensure_result::unchanged));
    }
    const bool updatable =
        std::all_of(differences.begin(), differences.end(), [](const auto& d) { return d.updatable; });
    if (!updatable)
      return report(op, spdlog::level::err,
                    "stream " + cfg.name +
                        " exists with a configuration the server cannot change to "
                        "ours: " +
                        detail::describe(differences),
                    make_error_code(errc::config_mismatch), ensure_result::unchanged);
    apply("STREAM.UPDATE", "updated", ensure_result::updated, detail::describe(differences));
  });
}

namespace detail {
void bind_consumer(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                   const json::value& info,
                   const std::shared_ptr<pending_operation<void(error_code, natscoro::consumer)>>& op);
}

void jetstream::async_consumer(std::string stream, consumer_config cfg, consumer_options opts, bool ephemeral,
                               boost::asio::any_completion_handler<void(error_code, natscoro::consumer)> h) const {
  using consumer_operation = detail::pending_operation<void(error_code, natscoro::consumer)>;
  auto op = consumer_operation::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  if (cfg.durable.empty() != ephemeral) {
    return report(op, spdlog::level::err,
                  ephemeral
                      ? "ephemeral_consumer on " + stream + ": consumer_config::durable \"" +
                            detail::printable(cfg.durable) + "\" is set; a durable consumer is jetstream::consumer()"
                      : "consumer on " + stream +
                            ": consumer_config::durable is empty; name the durable "
                            "consumer (an ephemeral one is jetstream::ephemeral_consumer())",
                  make_error_code(errc::invalid_argument), natscoro::consumer{});
  }
  if (opts.capacity == 0) {
    return report(op, spdlog::level::err,
                  "consumer " + stream + "/" + cfg.durable + ": consumer_options::capacity must be at least 1",
                  make_error_code(errc::invalid_argument), natscoro::consumer{});
  }
  const jetstream self = *this;
  ensure_consumer_then(stream, cfg, opts.update,
                       [self, op, stream, opts](error_code ec, ensure_result, std::string name, json::value info) {
                         if (ec) return void(op->fail(std::move(name), ec, natscoro::consumer{}));  // the reason
                         detail::bind_consumer(self, stream, name, opts, info, op);
                       });
}

void jetstream::ensure_consumer_then(
    const std::string& stream, const consumer_config& cfg, bool update,
    std::function<void(error_code, ensure_result, std::string, json::value)> done) const {
  if (std::string detail; !cfg.filter_subject.empty()) {
    if (auto ec = detail::check_filter_subject("consumer filter_subject", cfg.filter_subject, detail)) {
      logger()->error("{}", detail);
      return done(ec, ensure_result::unchanged, detail, {});
    }
  }
  // Creates (or updates) the consumer; the server's reply names it (ephemeral consumers).
  auto create = [api = api_, stream, cfg, done](const char* verb, ensure_result result, std::string changes) {
    json::object body;
    body["stream_name"] = stream;
    body["config"] = detail::to_json(cfg);
    auto reply = [stream, verb, result, changes, done, durable = cfg.durable](error_code ec, json::value r) {
      if (ec) {
        auto text = reason("consumer " + stream + "/" + durable + " not " + verb, ec, r);
        logger()->error("{}", text);
        return done(ec, ensure_result::unchanged, std::move(text), {});
      }
      const auto* name = r.as_object().if_contains("name");
      std::string bound = name && name->is_string() ? std::string(name->as_string()) : durable;
      logger()->info("{} consumer {}/{}{}{}", verb, stream, bound, changes.empty() ? "" : ": ", changes);
      done({}, result, std::move(bound), std::move(r));
    };
    if (cfg.durable.empty()) return api->request("CONSUMER.CREATE", {stream}, json::serialize(body), std::move(reply));
    api->request("CONSUMER.DURABLE.CREATE", {stream, cfg.durable}, json::serialize(body), std::move(reply));
  };
  if (cfg.durable.empty()) return create("created", ensure_result::created, {});

  api_->request(
      "CONSUMER.INFO", {stream, cfg.durable}, "", [stream, cfg, update, create, done](error_code ec, json::value info) {
        if (ec == jetstream_errc::consumer_not_found) return create("created", ensure_result::created, {});
        if (ec) {
          auto text = reason("consumer info for " + stream + "/" + cfg.durable, ec, info);
          logger()->error("{}", text);
          return done(ec, ensure_result::unchanged, std::move(text), {});
        }
        const auto* server_cfg = info.as_object().if_contains("config");
        const auto differences = server_cfg && server_cfg->is_object() ? detail::compare(cfg, server_cfg->as_object())
                                                                       : std::vector<detail::config_difference>{};
        if (differences.empty()) return done({}, ensure_result::unchanged, cfg.durable, std::move(info));
        const bool updatable =
            std::all_of(differences.begin(), differences.end(), [](const auto& d) { return d.updatable; });
        if (update && updatable) return create("updated", ensure_result::updated, detail::describe(differences));
        auto text = "consumer " + stream + "/" + cfg.durable +
                    " exists with another configuration: " + detail::describe(differences) +
                    (update || !updatable ? "" : " (consumer_options::update allows changing what can change)");
        logger()->error("{}", text);
        done(make_error_code(errc::config_mismatch), ensure_result::unchanged, std::move(text), {});
      });
}

namespace {

std::uint64_t u64_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  boost::system::error_code ec;
  const auto n = v ? v->to_number<std::uint64_t>(ec) : 0;
  return v && !ec ? n : 0;
}

// The operation's completion with the reply's error logged (with the server's description;
// a missing stream or consumer is an answer the caller expects, not a warning).
template <class... Args>
bool failed(error_code ec, const json::value& reply, const std::string& what,
            const std::shared_ptr<detail::pending_operation<void(error_code, Args...)>>& op, Args... empty) {
  if (!ec) return false;
  const bool expected = ec == jetstream_errc::stream_not_found || ec == jetstream_errc::consumer_not_found;
  report(op, expected ? spdlog::level::debug : spdlog::level::warn, reason(what + " failed", ec, reply), ec,
         std::move(empty)...);
  return true;
}

}  // namespace

void jetstream::async_stream_info(
    const std::string& name, boost::asio::any_completion_handler<void(error_code, natscoro::stream_info)> h) const {
  using operation = detail::pending_operation<void(error_code, natscoro::stream_info)>;
  auto op = operation::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  api_->request("STREAM.INFO", {name}, "", [op, name](error_code ec, json::value r) {
    if (failed(ec, r, "stream info " + name, op, natscoro::stream_info{})) return;
    natscoro::stream_info info;
    if (const auto* c = r.as_object().if_contains("config"); c && c->is_object())
      info.config = detail::stream_config_from_json(c->as_object());
    if (const auto* st = r.as_object().if_contains("state"); st && st->is_object()) {
      const auto& o = st->as_object();
      info.state = {u64_of(o, "messages"), u64_of(o, "bytes"), u64_of(o, "first_seq"), u64_of(o, "last_seq"),
                    u64_of(o, "consumer_count")};
    }
    op->complete({}, std::move(info));
  });
}

void jetstream::async_delete_stream(const std::string& name,
                                    boost::asio::any_completion_handler<void(error_code)> h) const {
  auto op = detail::pending_operation<void(error_code)>::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  api_->request("STREAM.DELETE", {name}, "", [op, name](error_code ec, json::value r) {
    if (failed(ec, r, "deleting stream " + name, op)) return;
    logger()->info("deleted stream {}", name);
    op->complete({});
  });
}

void jetstream::async_purge_stream(const std::string& name, const purge_options& what,
                                   boost::asio::any_completion_handler<void(error_code, std::uint64_t)> h) const {
  auto op = detail::pending_operation<void(error_code, std::uint64_t)>::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  if (std::string detail; !what.subject.empty()) {
    if (auto ec = detail::check_filter_subject("purge_options::subject", what.subject, detail)) {
      return report(op, spdlog::level::err, detail, ec, std::uint64_t{0});
    }
  }
  json::object body;
  if (!what.subject.empty()) body["filter"] = what.subject;
  if (what.up_to_sequence > 0) body["seq"] = what.up_to_sequence;
  api_->request("STREAM.PURGE", {name}, body.empty() ? "" : json::serialize(body),
                [op, name](error_code ec, json::value r) {
                  if (failed(ec, r, "purging stream " + name, op, std::uint64_t{0})) return;
                  const auto purged = u64_of(r.as_object(), "purged");
                  logger()->info("purged {} messages from stream {}", purged, name);
                  op->complete({}, purged);
                });
}

namespace {

// Asks for the names page after page (the server answers with offset, limit and total).
struct name_pager : std::enable_shared_from_this<name_pager> {
  using operation = detail::pending_operation<void(error_code, std::vector<std::string>)>;
  std::shared_ptr<detail::api_client> api;
  const char* request;
  std::optional<std::string> stream;  ///< the stream whose consumers are listed
  const char* field;
  std::shared_ptr<operation> op;
  std::vector<std::string> names;

  void next_page() {
    json::object body;
    body["offset"] = names.size();
    auto on_reply = [self = shared_from_this()](error_code ec, json::value r) { self->on_page(ec, r); };
    if (stream) return api->request(request, {*stream}, json::serialize(body), std::move(on_reply));
    api->request(request, {}, json::serialize(body), std::move(on_reply));
  }

  void on_page(error_code ec, const json::value& r) {
    if (failed(ec, r, request, op, std::vector<std::string>{})) return;
    const auto& o = r.as_object();
    const auto before = names.size();
    if (const auto* list = o.if_contains(field); list && list->is_array())
      for (const auto& n : list->as_array())
        if (n.is_string()) names.emplace_back(n.as_string());
    if (names.size() < u64_of(o, "total") && names.size() > before) return next_page();
    std::sort(names.begin(), names.end());
    op->complete({}, std::move(names));
  }
};

}  // namespace

void jetstream::async_list_names(
    const char* request, std::optional<std::string> stream, const char* field,
    boost::asio::any_completion_handler<void(error_code, std::vector<std::string>)> h) const {
  auto pager = std::make_shared<name_pager>();
  pager->api = api_;
  pager->request = request;
  pager->stream = std::move(stream);
  pager->field = field;
  pager->op = name_pager::operation::create(std::move(h), conn_.get_executor());
  pager->op->complete_on_terminal_cancel();
  pager->next_page();
}

void jetstream::async_ensure_consumer(const std::string& stream, const consumer_config& cfg,
                                      boost::asio::any_completion_handler<void(error_code, ensure_result)> h) const {
  auto op = detail::pending_operation<void(error_code, ensure_result)>::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  if (cfg.durable.empty()) {
    return report(op, spdlog::level::err, "ensure_consumer on " + stream + ": consumer_config::durable is empty",
                  make_error_code(errc::invalid_argument), ensure_result::unchanged);
  }
  ensure_consumer_then(stream, cfg, true, [op](error_code ec, ensure_result result, std::string why, json::value) {
    if (ec) return void(op->fail(std::move(why), ec, result));
    op->complete(ec, result);
  });
}

void jetstream::async_consumer_info(
    const std::string& stream, const std::string& name,
    boost::asio::any_completion_handler<void(error_code, natscoro::consumer_info)> h) const {
  using operation = detail::pending_operation<void(error_code, natscoro::consumer_info)>;
  auto op = operation::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  api_->request("CONSUMER.INFO", {stream, name}, "", [op, stream, name](error_code ec, json::value r) {
    if (failed(ec, r, "consumer info " + stream + "/" + name, op, natscoro::consumer_info{})) return;
    const auto& o = r.as_object();
    natscoro::consumer_info info;
    info.stream = stream;
    info.name = name;
    if (const auto* c = o.if_contains("config"); c && c->is_object())
      info.config = detail::consumer_config_from_json(c->as_object());
    info.num_pending = u64_of(o, "num_pending");
    info.num_ack_pending = u64_of(o, "num_ack_pending");
    info.num_redelivered = u64_of(o, "num_redelivered");
    info.num_waiting = u64_of(o, "num_waiting");
    if (const auto* f = o.if_contains("ack_floor"); f && f->is_object())
      info.ack_floor_stream_sequence = u64_of(f->as_object(), "stream_seq");
    if (const auto* d = o.if_contains("delivered"); d && d->is_object())
      info.delivered_consumer_sequence = u64_of(d->as_object(), "consumer_seq");
    op->complete({}, std::move(info));
  });
}

void jetstream::async_delete_consumer(const std::string& stream, const std::string& name,
                                      boost::asio::any_completion_handler<void(error_code)> h) const {
  auto op = detail::pending_operation<void(error_code)>::create(std::move(h), conn_.get_executor());
  op->complete_on_terminal_cancel();
  api_->request("CONSUMER.DELETE", {stream, name}, "", [op, stream, name](error_code ec, json::value r) {
    if (failed(ec, r, "deleting consumer " + stream + "/" + name, op)) return;
    logger()->info("deleted consumer {}/{}", stream, name);
    op->complete({});
  });
}

}  // namespace natscoro

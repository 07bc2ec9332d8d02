#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace natscoro {
namespace json = boost::json;
namespace {

using ensure_operation = detail::pending_operation<void(error_code, ensure_result)>;

std::vector<std::string> sorted_subjects(const json::value& info) {
  std::vector<std::string> out;
  const auto* cfg = info.as_object().if_contains("config");
  const auto* subjects = cfg && cfg->is_object() ? cfg->as_object().if_contains("subjects") : nullptr;
  if (subjects && subjects->is_array())
    for (const auto& s : subjects->as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

std::string description_of(const json::value& reply) {
  std::string d;
  detail::api_error(reply, d);
  return d;
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
  if (!detail::valid_stream_name(cfg.name)) {
    logger()->error("ensure_stream: invalid stream name \"{}\"", cfg.name);
    op->complete(make_error_code(errc::invalid_argument), ensure_result::unchanged);
    return;
  }
  auto api = api_;
  api_->request("STREAM.INFO." + cfg.name, "",
                [api, op, cfg = std::move(cfg)](error_code ec, json::value info) mutable {
                  if (ec == jetstream_errc::stream_not_found) {
                    const std::string body = json::serialize(detail::to_json(cfg));
                    api->request("STREAM.CREATE." + cfg.name, body, [op, name = cfg.name](error_code ec, json::value r) {
                      if (ec) {
                        logger()->error("creating stream {} failed: {} ({})", name, ec.message(), description_of(r));
                        op->complete(ec, ensure_result::unchanged);
                        return;
                      }
                      logger()->info("created stream {}", name);
                      op->complete({}, ensure_result::created);
                    });
                    return;
                  }
                  if (ec) {
                    logger()->error("stream info for {} failed: {} ({})", cfg.name, ec.message(), description_of(info));
                    op->complete(ec, ensure_result::unchanged);
                    return;
                  }
                  auto wanted = cfg.subjects;
                  std::sort(wanted.begin(), wanted.end());
                  const auto existing = sorted_subjects(info);
                  if (existing != wanted) {
                    logger()->error("stream {} exists with subjects {}, not {}", cfg.name, joined(existing),
                                    joined(wanted));
                    op->complete(make_error_code(jetstream_errc::stream_name_in_use), ensure_result::unchanged);
                    return;
                  }
                  logger()->debug("stream {} exists", cfg.name);
                  op->complete({}, ensure_result::unchanged);
                });
}

namespace detail {
void bind_consumer(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                   const json::value& info, const std::shared_ptr<pending_operation<void(error_code, natscoro::consumer)>>& op);
}

void jetstream::async_consumer(std::string stream, consumer_config cfg, consumer_options opts,
                               boost::asio::any_completion_handler<void(error_code, natscoro::consumer)> h) const {
  using consumer_operation = detail::pending_operation<void(error_code, natscoro::consumer)>;
  auto op = consumer_operation::create(std::move(h), conn_.get_executor());
  if (!detail::valid_stream_name(stream) || (!cfg.durable.empty() && !detail::valid_stream_name(cfg.durable))) {
    logger()->error("consumer: invalid stream \"{}\" or durable name \"{}\"", stream, cfg.durable);
    return void(op->complete(make_error_code(errc::invalid_argument), natscoro::consumer{}));
  }
  if (opts.capacity == 0) {
    logger()->error("consumer {}/{}: consumer_options::capacity must be at least 1", stream, cfg.durable);
    return void(op->complete(make_error_code(errc::invalid_argument), natscoro::consumer{}));
  }
  const jetstream self = *this;

  // Creates (or updates) the consumer, then binds to the name the server gives it.
  auto create = [self, op, stream, cfg, opts](const char* verb) {
    json::object body;
    body["stream_name"] = stream;
    body["config"] = detail::to_json(cfg);
    const std::string api = cfg.durable.empty() ? "CONSUMER.CREATE." + stream
                                                : "CONSUMER.DURABLE.CREATE." + stream + "." + cfg.durable;
    self.api()->request(api, json::serialize(body),
                        [self, op, stream, opts, verb, durable = cfg.durable](error_code ec, json::value r) {
                          if (ec) {
                            logger()->error("{} consumer {}/{} failed: {} ({})", verb, stream, durable, ec.message(),
                                            description_of(r));
                            return void(op->complete(ec, natscoro::consumer{}));
                          }
                          const auto* name = r.as_object().if_contains("name");
                          const std::string bound = name && name->is_string() ? std::string(name->as_string()) : durable;
                          logger()->info("{} consumer {}/{}", verb, stream, bound);
                          detail::bind_consumer(self, stream, bound, opts, r, op);
                        });
  };
  if (cfg.durable.empty()) return create("created");

  api_->request("CONSUMER.INFO." + stream + "." + cfg.durable, "",
                [self, op, stream, cfg, opts, create](error_code ec, json::value info) {
                  if (ec == jetstream_errc::consumer_not_found) return create("created");
                  if (ec) {
                    logger()->error("consumer info for {}/{} failed: {} ({})", stream, cfg.durable, ec.message(),
                                    description_of(info));
                    return void(op->complete(ec, natscoro::consumer{}));
                  }
                  const auto* server_cfg = info.as_object().if_contains("config");
                  const auto differences =
                      server_cfg && server_cfg->is_object() ? detail::compare(cfg, server_cfg->as_object())
                                                            : std::vector<detail::config_difference>{};
                  if (differences.empty()) return detail::bind_consumer(self, stream, cfg.durable, opts, info, op);
                  const bool updatable = std::all_of(differences.begin(), differences.end(),
                                                     [](const auto& d) { return d.updatable; });
                  if (opts.update && updatable) return create("updated");
                  logger()->error("consumer {}/{} exists with another configuration: {}{}", stream, cfg.durable,
                                  detail::describe(differences),
                                  opts.update ? "" : " (consumer_options::update allows changing what can change)");
                  op->complete(make_error_code(errc::config_mismatch), natscoro::consumer{});
                });
}

}  // namespace natscoro

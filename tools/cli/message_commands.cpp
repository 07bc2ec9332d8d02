// pub, sub: publishing events and reading them.
#include "cli.hpp"

#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace natscoro_cli {

namespace {

class progress {
 public:
  progress(const char* what, std::uint64_t total) : what_(what), total_(total), shown_(::isatty(STDERR_FILENO) != 0) {}
  void step(std::uint64_t done) {
    if (shown_ && total_ > 1 && (done % 100 == 0 || done == total_))
      std::cerr << "\r" << what_ << " " << done << "/" << total_ << (done == total_ ? "\n" : "") << std::flush;
  }

 private:
  const char* what_;
  std::uint64_t total_;
  bool shown_;
};

}  // namespace

command pub_command(const std::vector<std::string>& args) {
  po::options_description o("pub options");
  o.add_options()("type", po::value<std::string>(), "CloudEvents type (required)")(
      "org", po::value<std::string>(), "organizationid, the tenant (required)")(
      "data", po::value<std::string>(), "the data, JSON")("data-file", po::value<std::string>(),
                                                          "the data, from a JSON file")(
      "count", po::value<std::string>()->default_value("1"), "how many events (1 to 1000000000)")(
      "source", po::value<std::string>()->default_value("natscoro-cli"), "CloudEvents source");
  const auto vm = parse_command("pub", args, {"SUBJECT"}, o);
  if (!vm.count("type") || !vm.count("org")) throw usage_error("pub: --type and --org are required");
  const auto count = number_argument("--count", vm["count"].as<std::string>(), 1, 1'000'000'000);
  const auto subject = vm["SUBJECT"].as<std::string>();
  if (!nc::detail::valid_publish_subject(subject))
    throw usage_error("pub: \"" + shown(subject) + "\" is not a subject one can publish to");
  if (vm.count("data") && vm.count("data-file")) throw usage_error("pub: --data or --data-file, not both");
  std::string text = "{}";
  if (vm.count("data")) text = vm["data"].as<std::string>();
  if (vm.count("data-file")) {
    std::ifstream in(vm["data-file"].as<std::string>());
    if (!in)
      throw nc::error(make_error_code(nc::errc::invalid_argument),
                      vm["data-file"].as<std::string>() + ": cannot be read");
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  boost::system::error_code ec;
  auto data = json::parse(text, ec);
  if (ec)
    throw nc::error(make_error_code(nc::errc::invalid_argument), "the data is not valid JSON (" + ec.message() + ")");
  nc::event evt = nc::event::make(vm["type"].as<std::string>(), vm["org"].as<std::string>());
  evt.data = std::move(data);
  return [subject, evt, count, source = vm["source"].as<std::string>()](nc::jetstream& js) -> asio::awaitable<int> {
    nc::publisher_options popts;
    popts.source = source;
    nc::publisher pub{js, popts};
    progress bar("published", count);
    std::uint64_t done = 0, failed = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!pub.has_room()) co_await pub.wait_for_room(asio::use_awaitable);  // memory stays within the window
      auto e = evt;
      e.id.clear();  // a new id each
      pub.publish(subject, std::move(e), [&](nc::error_code ec, nc::pub_ack ack) {
        if (ec) {
          ++failed;
          std::cerr << "natscoro pub: " << ec.message() << "\n";
        } else {
          std::cout << "stored in " << ack.stream << " #" << ack.sequence << (ack.duplicate ? " (duplicate)" : "")
                    << "\n";
        }
        bar.step(++done);
      });
    }
    co_await pub.flush(asio::use_awaitable);
    co_return failed == 0 ? ok : failure;
  };
}

command sub_command(const std::vector<std::string>& args) {
  po::options_description o("sub options");
  auto add = o.add_options();
  add("durable", po::value<std::string>(),
      "read with this durable consumer (created if missing), acknowledging what is printed; without it an ephemeral "
      "consumer reads without acknowledging and is deleted at the end");
  add("filter", po::value<std::string>(), "filter subject");
  add("count", po::value<std::string>(), "stop after N events (1 to 1000000000)");
  add("no-ack",
      "a peek: print each message once, acknowledge nothing (a durable's are given back), end when every pending one "
      "was seen");
  const auto vm = parse_command("sub", args, {"STREAM"}, o);
  nc::consumer_config cfg;
  if (vm.count("durable")) {
    cfg.durable = name_argument("--durable", vm["durable"].as<std::string>());
  } else {
    cfg.ack = nc::ack_policy::none;                     // nothing to acknowledge, nothing redelivered
    cfg.inactive_threshold = std::chrono::seconds(30);  // should the tool die before deleting it
  }
  if (vm.count("filter")) cfg.filter_subject = vm["filter"].as<std::string>();
  if (std::string detail;
      vm.count("filter") && nc::detail::check_filter_subject("--filter", cfg.filter_subject, detail))
    throw usage_error(detail);
  const std::uint64_t count =
      vm.count("count") ? number_argument("--count", vm["count"].as<std::string>(), 1, 1'000'000'000) : 0;
  return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), cfg, count,
          no_ack = vm.count("no-ack") > 0](nc::jetstream& js) -> asio::awaitable<int> {
    const bool ephemeral = cfg.durable.empty();
    nc::consumer_options opts;
    if (count > 0) opts.capacity = std::min<std::size_t>(count, 256);
    auto cons = ephemeral ? co_await js.ephemeral_consumer(stream, cfg, opts, asio::use_awaitable)
                          : co_await js.consumer(stream, cfg, opts, asio::use_awaitable);
    asio::signal_set signals(js.get_executor(), SIGINT, SIGTERM);
    signals.async_wait([cons](const boost::system::error_code& ec, int) mutable {
      if (!ec) cons.drain(std::chrono::seconds(5), [](nc::error_code) {});
    });
    progress bar("received", count);
    int status = ok;
    std::uint64_t received = 0;
    // What a durable gave back after it was printed or reported: it comes again, and is not shown twice.
    // (Acknowledged messages are not kept: a long-running sub holds no record of them.)
    std::set<std::uint64_t> given_back;
    while (count == 0 || received < count) {
      auto m = co_await cons.next(asio::use_awaitable);
      if (!m) break;
      const auto& md = m->metadata();
      if (given_back.contains(md.stream_sequence)) {
        if (no_ack && md.num_pending == 0) {  // seen before and nothing behind it: the peek is complete
          m->nak();
          break;
        }
        m->nak(std::chrono::seconds(1));
        continue;
      }
      nc::event evt;
      std::string why;
      if (auto ec = m->decode(evt, why)) {
        std::cerr << "natscoro sub: message " << md.stream_sequence << " on " << shown(m->subject())
                  << " is not a CloudEvent (" << shown(why) << ")" << (ephemeral ? "" : "; left for redelivery")
                  << "\n";
        status = failure;
        if (!ephemeral) {
          given_back.insert(md.stream_sequence);
          m->nak(std::chrono::seconds(5));
        } else if (no_ack && md.num_pending == 0) {
          break;
        }
        continue;
      }
      std::cout << nc::to_structured_json(evt) << "\n";
      if (ephemeral) {
        bar.step(++received);
        if (no_ack && md.num_pending == 0) break;  // everything there was, seen
        continue;
      }
      if (no_ack) {
        given_back.insert(md.stream_sequence);
        m->nak(md.num_pending == 0 ? std::chrono::nanoseconds(0) : std::chrono::nanoseconds(std::chrono::seconds(1)));
      } else {
        co_await m->ack_sync(asio::use_awaitable);
      }
      bar.step(++received);
    }
    signals.cancel();
    co_await cons.drain(std::chrono::seconds(5), asio::use_awaitable);
    if (ephemeral) {  // leaves nothing behind
      auto [ec] = co_await js.delete_consumer(stream, cons.name(), asio::as_tuple(asio::use_awaitable));
      if (ec && ec != nc::jetstream_errc::consumer_not_found)
        std::cerr << "natscoro sub: the ephemeral consumer " << cons.name() << " was not deleted (" << ec.message()
                  << "); the server removes it after 30 s\n";
    }
    co_return status;
  };
}

}  // namespace natscoro_cli

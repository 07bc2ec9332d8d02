// natscoro: the command-line tool. Applies topology files, inspects streams and
// consumers, publishes and reads events, handles the dead-letter queue.
// Exit codes: 0 ok, 1 failure, 2 usage.
#include "cli.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <iostream>
#include <memory>

using namespace natscoro_cli;

int main(int argc, char** argv) {
  po::options_description global = connection_options();
  po::options_description all;
  all.add(global);
  all.add_options()("command", po::value<std::string>())("args", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);

  command run;
  po::variables_map vm;
  try {
    const auto parsed = po::command_line_parser(argc, argv)
                            .options(all)
                            .positional(pos)
                            .style(exact_options)
                            .allow_unregistered()
                            .run();
    po::store(parsed, vm);
    if (vm.count("version")) {
      std::cout << version_text() << "\n";
      return ok;
    }
    if (!vm.count("command")) {
      std::cout << overview << "\n" << global;
      return vm.count("help") ? ok : usage;
    }
    // What follows the command is the command's own (options included).
    auto rest = po::collect_unrecognized(parsed.options, po::include_positional);
    rest.erase(rest.begin());
    if (vm.count("help")) rest.push_back("--help");
    const std::string name = vm["command"].as<std::string>();
    if (name == "apply") {
      run = apply_command(rest);
    } else if (name == "streams") {
      run = streams_command(rest);
    } else if (name == "consumers") {
      run = consumers_command(rest);
    } else if (name == "pub") {
      run = pub_command(rest);
    } else if (name == "sub") {
      run = sub_command(rest);
    } else if (name == "dlq") {
      run = dlq_command(rest);
    } else if (name == "replay") {
      run = replay_command(rest);
    } else {
      throw usage_error("unknown command \"" + name + "\"");
    }
  } catch (const usage_error& e) {
    std::cerr << "natscoro " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const po::error& e) {
    std::cerr << "natscoro: " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const std::logic_error& e) {  // a number that is not one
    std::cerr << "natscoro: bad argument (" << e.what() << ")\n\n" << overview;
    return usage;
  } catch (const nc::error& e) {  // e.g. a bad topology file
    std::cerr << "natscoro: " << e.detail() << "\n";
    return failure;
  }

  // The tool prints its own errors; --verbose shows the library's log as well. Without it
  // the library's last warning or error is kept, and printed with a failure: it names
  // the problem (the server's description, the file that cannot be read).
  auto last_problem = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1);
  last_problem->set_pattern("%v");
  last_problem->set_level(spdlog::level::warn);
  std::vector<spdlog::sink_ptr> sinks{last_problem};
  if (vm.count("verbose")) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  nc::set_logger(std::make_shared<spdlog::logger>("natscoro", sinks.begin(), sinks.end()));
  nc::logger()->set_level(vm.count("verbose") ? spdlog::level::info : spdlog::level::warn);
  auto print_problem = [&] {
    if (vm.count("verbose")) return;  // shown already
    for (const auto& line : last_problem->last_formatted()) std::cerr << "natscoro: " << line;
  };
  asio::io_context ioc;
  int status = failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ioc.get_executor(), connect_options_from(vm), asio::use_awaitable);
        nc::jetstream js{conn};
        status = co_await run(js);
        if (status != ok) print_problem();
        co_await conn.drain(asio::use_awaitable);
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "natscoro: " << ex.what() << "\n";
          print_problem();
        }
        status = failure;
      });
  ioc.run();
  return status;
}

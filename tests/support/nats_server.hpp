// Real nats-server processes for integration tests: one JetStream server, or a
// 3-node JetStream cluster, on free loopback ports with temporary stores.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace natscoro::test {

/// A loopback TCP port nothing listens on right now.
int free_port();

/// A directory removed with everything in it when this object goes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

struct server_config {
  std::string name = "n1";
  bool jetstream = true;
  /// Appended verbatim to the generated configuration file (authorization, tls, ...).
  std::string extra;
  /// Cluster membership: cluster name, this node's route port, and the route ports of all nodes.
  std::string cluster_name;
  int cluster_port = 0;
  std::vector<int> route_ports;
};

/// One nats-server process. Started by the constructor; stopped by the destructor.
class nats_server {
 public:
  explicit nats_server(server_config cfg = {}, int port = 0);
  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  int port() const noexcept { return port_; }
  std::string url() const;
  const std::filesystem::path& directory() const noexcept { return dir_.path(); }
  bool running() const noexcept { return pid_ > 0; }

  /// Starts the server (same port, store and configuration as before) and waits until it accepts clients.
  void start();
  /// SIGKILL: the process dies at once, as in a crash.
  void kill();
  /// SIGSTOP / SIGCONT: the server hangs (connections open, nothing answered) until resumed.
  void pause();
  void resume();
  /// SIGTERM and wait: a clean shutdown.
  void stop();
  /// kill() then start().
  void restart_after_kill();

  /// Body of an HTTP GET on the monitoring port (e.g. "/jsz").
  std::string monitor(const std::string& path) const;

 private:
  void write_config() const;
  void wait_until_accepting(std::chrono::seconds limit);
  void reap(std::chrono::seconds limit);

  server_config cfg_;
  temp_dir dir_;
  int port_;
  int http_port_;
  pid_t pid_ = -1;
};

/// Three JetStream nodes with routes between them.
class nats_cluster {
 public:
  static constexpr int size = 3;
  nats_cluster();

  nats_server& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  std::vector<std::string> urls() const;
  /// The index of the node whose URL is `url` (-1 if none).
  int index_of(const std::string& url) const;
  /// Waits until every running node knows the JetStream meta leader.
  void wait_for_meta_leader(std::chrono::seconds limit = std::chrono::seconds(30));

 private:
  std::vector<std::unique_ptr<nats_server>> nodes_;
};

/// Boost.Test fixture: a fresh JetStream server for each test case.
struct server_fixture {
  nats_server server;
};

/// Boost.Test fixture: a fresh 3-node JetStream cluster for each test case.
struct cluster_fixture {
  cluster_fixture() { cluster.wait_for_meta_leader(); }
  nats_cluster cluster;
};

}  // namespace natscoro::test

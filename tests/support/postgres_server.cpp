#include "postgres_server.hpp"

#include <libpq-fe.h>

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace natscoro::test {
namespace {

// The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin).
std::string find_bin() {
  std::string best;
  int best_major = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const int major = std::atoi(entry.path().filename().c_str());
    if (major > best_major && std::filesystem::exists(entry.path() / "bin" / "initdb")) {
      best_major = major;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) throw std::runtime_error("no PostgreSQL server installed (apt-get install postgresql)");
  return best;
}

}  // namespace

postgres_server::postgres_server() : bin_(find_bin()), port_(free_port()) {
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (!nobody) throw std::runtime_error("no user \"nobody\" to run PostgreSQL as");
    if (::chown(dir_.path().c_str(), nobody->pw_uid, nobody->pw_gid) != 0)
      throw std::runtime_error("cannot hand the PostgreSQL directory to nobody");
  }
  run({bin_ + "/initdb", "-D", (dir_.path() / "data").string(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
       "--locale=C", "--no-sync"});
  start();
}

postgres_server::~postgres_server() {
  try {
    kill();
  } catch (...) {
  }
}

std::string postgres_server::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

void postgres_server::start() {
  if (running_) return;
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_.path().string() +
                              " -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=50";
  run({bin_ + "/pg_ctl", "-D", (dir_.path() / "data").string(), "-o", options, "-l",
       (dir_.path() / "server.log").string(), "-w", "-t", "60", "start"});
  running_ = true;
}

void postgres_server::kill() {
  if (!running_) return;
  running_ = false;
  run({bin_ + "/pg_ctl", "-D", (dir_.path() / "data").string(), "-m", "immediate", "-w", "stop"});
}

// Runs a PostgreSQL command to its end (as nobody under root); its output goes to commands.log.
void postgres_server::run(std::vector<std::string> args) const {
  if (::geteuid() == 0) args.insert(args.begin(), {"runuser", "-u", "nobody", "--"});
  const std::string log = (dir_.path().parent_path() / (dir_.path().filename().string() + "-pg.log")).string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + args.front());
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  std::filesystem::remove(log);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("PostgreSQL command failed: " + args.back() + "\n" + output.str());
}

pg_session::pg_session(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect to PostgreSQL: " + why);
  }
}

pg_session::~pg_session() { PQfinish(conn_); }

void pg_session::exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(r);
  const std::string why = PQresultErrorMessage(r);
  PQclear(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + why);
}

std::vector<std::string> pg_session::column(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    const std::string why = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(sql + ": " + why);
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  return out;
}

std::string pg_session::scalar(const std::string& sql) {
  const auto values = column(sql);
  if (values.empty()) throw std::runtime_error(sql + ": no row");
  return values.front();
}

}  // namespace natscoro::test

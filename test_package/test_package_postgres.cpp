// Links against the installed natscoro::postgres (and through it libpq): the
// schema compiled into the library is the one shipped in share/natscoro.
#include <natscoro/postgres_outbox.hpp>

#include <iostream>

int main() {
  const auto schema = natscoro::postgres_outbox::schema_sql();
  const bool ok = schema.find("CREATE TABLE IF NOT EXISTS natscoro_outbox") != std::string_view::npos;
  std::cout << "test_package_postgres: schema of " << schema.size() << " bytes" << (ok ? "" : ", without the table")
            << "\n";
  return ok ? 0 : 1;
}

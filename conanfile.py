# Conan 2 recipe. Conan is not installable on the project's Debian CI, which
# instead builds test_package/ against a plain `cmake --install`.
from conan import ConanFile
from conan.tools.cmake import CMake, CMakeToolchain, CMakeDeps, cmake_layout


class NatscoroConan(ConanFile):
    name = "natscoro"
    version = "0.1.0"
    license = "BSL-1.0"
    description = "C++20 coroutines for NATS JetStream on Boost.Asio"
    topics = ("nats", "jetstream", "asio", "coroutines", "cloudevents")
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False], "with_postgresql": [True, False]}
    default_options = {"shared": False, "fPIC": True, "with_postgresql": True}
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "src/*", "sql/*"

    def requirements(self):
        self.requires("cnats/3.4.1", transitive_headers=True)
        self.requires("boost/1.81.0", transitive_headers=True)
        self.requires("spdlog/1.10.0", transitive_headers=True)
        self.requires("sqlite3/3.40.1")
        if self.options.with_postgresql:
            # conan-center's libpq: CMake file PostgreSQL, target PostgreSQL::PostgreSQL (what CMakeLists.txt uses)
            self.requires("libpq/15.5")

    def layout(self):
        cmake_layout(self)

    def generate(self):
        CMakeDeps(self).generate()
        tc = CMakeToolchain(self)
        tc.cache_variables["NATSCORO_BUILD_TESTS"] = False
        tc.cache_variables["NATSCORO_BUILD_EXAMPLES"] = False
        tc.cache_variables["NATSCORO_BUILD_BENCHMARKS"] = False
        tc.cache_variables["NATSCORO_BUILD_TOOLS"] = False
        tc.cache_variables["NATSCORO_WITH_POSTGRESQL"] = bool(self.options.with_postgresql)
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        CMake(self).install()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "natscoro")
        core = self.cpp_info.components["natscoro"]
        core.set_property("cmake_target_name", "natscoro::natscoro")
        core.set_property("pkg_config_name", "natscoro")
        core.libs = ["natscoro"]
        core.requires = ["cnats::nats", "boost::headers", "boost::json", "spdlog::spdlog", "sqlite3::sqlite3"]
        if self.options.with_postgresql:
            postgres = self.cpp_info.components["postgres"]
            postgres.set_property("cmake_target_name", "natscoro::postgres")
            postgres.set_property("pkg_config_name", "natscoro-postgres")
            postgres.libs = ["natscoro_postgres"]
            postgres.requires = ["natscoro", "libpq::libpq"]

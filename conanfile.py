# Conan 2 recipe. Conan is not installable on the project's Debian CI, which
# instead builds test_package/ against a plain `cmake --install`.
import os
import re

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeToolchain, CMakeDeps, cmake_layout
from conan.tools.files import copy, load


class NatscoroConan(ConanFile):
    name = "natscoro"
    license = "BSL-1.0"
    package_type = "library"
    description = "C++20 coroutines for NATS JetStream on Boost.Asio"
    topics = ("nats", "jetstream", "asio", "coroutines", "cloudevents")
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False], "with_postgresql": [True, False]}
    default_options = {"shared": False, "fPIC": True, "with_postgresql": True}
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*", "sql/*"

    def set_version(self):
        # The version's single source: include/natscoro/version.hpp.
        header = load(self, os.path.join(self.recipe_folder, "include", "natscoro", "version.hpp"))
        self.version = re.search(r'#define NATSCORO_VERSION_STRING "([^"]+)"', header).group(1)

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
        # ConanCenter's cnats gives cnats::nats_static (static, its default) or
        # cnats::nats (shared) through its CMake package; cmake/Findcnats.cmake takes either.
        tc.cache_variables["NATSCORO_CNATS_CONFIG"] = True
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        CMake(self).install()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "natscoro")
        core = self.cpp_info.components["natscoro"]
        core.set_property("cmake_target_name", "natscoro::natscoro")
        core.set_property("pkg_config_name", "natscoro")
        core.libs = ["natscoro"]
        # Conan names here, "package::component" as ConanCenter's recipes define them
        # (not CMake targets): cnats has no components (its whole package), Boost's
        # are its modules, spdlog's library is "libspdlog", sqlite3's "sqlite", libpq's "pq".
        core.requires = ["cnats::cnats", "boost::headers", "boost::json", "spdlog::libspdlog", "sqlite3::sqlite"]
        if self.settings.os in ["Linux", "FreeBSD"]:
            core.system_libs = ["pthread"]
        if self.options.with_postgresql:
            postgres = self.cpp_info.components["postgres"]
            postgres.set_property("cmake_target_name", "natscoro::postgres")
            postgres.set_property("pkg_config_name", "natscoro-postgres")
            postgres.libs = ["natscoro_postgres"]
            postgres.requires = ["natscoro", "libpq::pq"]

# Finds nats.c and provides the imported target cnats::nats.
#
# Debian's cnats-config.cmake names a libnats_static.a the package does not
# ship, so find_package(cnats CONFIG) fails there. A package that was found
# already and gives cnats::nats (a shared nats.c, e.g. Conan's) or
# cnats::nats_static (a static one, Conan's default) wins; otherwise the
# library is located through pkg-config's libnats.
include(FindPackageHandleStandardArgs)

if(TARGET cnats::nats)
  set(cnats_FOUND TRUE)
  return()
endif()
if(TARGET cnats::nats_static)
  add_library(cnats::nats INTERFACE IMPORTED)
  set_target_properties(cnats::nats PROPERTIES INTERFACE_LINK_LIBRARIES cnats::nats_static)
  set(cnats_FOUND TRUE)
  return()
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LIBNATS QUIET libnats)
endif()

find_path(cnats_INCLUDE_DIR NAMES nats/nats.h HINTS ${PC_LIBNATS_INCLUDE_DIRS})
find_library(cnats_LIBRARY NAMES nats HINTS ${PC_LIBNATS_LIBRARY_DIRS})
set(cnats_VERSION ${PC_LIBNATS_VERSION})

find_package_handle_standard_args(cnats
  REQUIRED_VARS cnats_LIBRARY cnats_INCLUDE_DIR
  VERSION_VAR cnats_VERSION)

if(cnats_FOUND AND NOT TARGET cnats::nats)
  add_library(cnats::nats UNKNOWN IMPORTED)
  set_target_properties(cnats::nats PROPERTIES
    IMPORTED_LOCATION "${cnats_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${cnats_INCLUDE_DIR}")
endif()
mark_as_advanced(cnats_INCLUDE_DIR cnats_LIBRARY)

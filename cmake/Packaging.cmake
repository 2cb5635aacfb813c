# Installing and the Debian package (issue 15). `cmake --install build --prefix P` puts:
#   P/bin/dimstream                      its RUNPATH $ORIGIN/../lib/dimstream, so no LD_LIBRARY_PATH
#   P/lib/dimstream/libduckdb.so         DuckDB's library (stripped), private to dimstream
#   P/share/man/man1/dimstream.1.gz      written from `dimstream --help` by help2man (packaging/manpage.cmake)
#   P/share/doc/dimstream/               copyright, changelog.Debian.gz, examples/*.toml
#   P/share/lintian/overrides/dimstream  what lintian says that does not apply to a package outside Debian
#   P/lib/systemd/system/dimstream.service
#   P/etc/dimstream/dimstream.toml       the embedded default (packaging/examples/embedded.toml)
# With P = /usr (the package's prefix) the last two go to /lib/systemd/system and /etc/dimstream instead,
# as GNUInstallDirs puts /usr's sysconfdir in /etc; decided when installing, so that `--prefix` decides.
# `cmake --build build --target package` (make package) builds dimstream_<version>-1_<arch>.deb in build/
# with CPack's DEB generator.
include(GNUInstallDirs)

set(_packaging ${PROJECT_SOURCE_DIR}/packaging)
set(_out ${PROJECT_BINARY_DIR}/packaging)
set(DIMSTREAM_DEB_RELEASE 1)
set(DIMSTREAM_DEB_VERSION ${PROJECT_VERSION}-${DIMSTREAM_DEB_RELEASE})
set(DIMSTREAM_DEB_MAINTAINER "Seed 42c1f8dc maintainers <maintainers@users.noreply.b-seed-42c1f8dc.example>")

set_target_properties(dimstream PROPERTIES INSTALL_RPATH "$ORIGIN/../lib/dimstream")
install(TARGETS dimstream RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# DuckDB's library, stripped (the npm build is not: 64 MB, 54 MB stripped), as libduckdb.so, its SONAME.
if(NOT CMAKE_STRIP)
  message(FATAL_ERROR "strip not found (binutils): needed to install DuckDB's library")
endif()
file(REAL_PATH ${DUCKDB_LIBRARY} _duckdb_file)
add_custom_command(OUTPUT ${_out}/libduckdb.so
                   COMMAND ${CMAKE_STRIP} --strip-unneeded --remove-section=.comment -o ${_out}/libduckdb.so
                           ${_duckdb_file}
                   DEPENDS ${_duckdb_file}
                   COMMENT "Stripping DuckDB's library for installing")

# The Debian changelog, compressed as Debian wants it (gzip -9n: no name, no time stamp).
configure_file(${_packaging}/debian/changelog.in ${_out}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${_out}/changelog.Debian.gz
                   COMMAND gzip -9 -n -c ${_out}/changelog.Debian > ${_out}/changelog.Debian.gz
                   DEPENDS ${_out}/changelog.Debian ${_packaging}/debian/changelog.in)
set(_generated ${_out}/libduckdb.so ${_out}/changelog.Debian.gz)

# The man page, from the binary's own help (so it is rebuilt whenever the binary is). Not in sanitizer or
# fuzzing builds, whose binary is not the one installed.
option(DIMSTREAM_MANPAGE "Write the man page dimstream.1 with help2man" ON)
if(DIMSTREAM_MANPAGE AND NOT DIMSTREAM_SANITIZE AND NOT DIMSTREAM_FUZZ)
  find_program(HELP2MAN help2man)
  if(HELP2MAN)
    add_custom_command(OUTPUT ${_out}/dimstream.1.gz
                       COMMAND ${CMAKE_COMMAND} -DDIMSTREAM=$<TARGET_FILE:dimstream> -DHELP2MAN=${HELP2MAN}
                               -DVERSION=${PROJECT_VERSION} -DINCLUDE=${_packaging}/dimstream.h2m
                               -DOUTPUT=${_out}/dimstream.1.gz -P ${_packaging}/manpage.cmake
                       DEPENDS dimstream ${_packaging}/manpage.cmake ${_packaging}/dimstream.h2m
                       COMMENT "Writing the man page dimstream.1 from dimstream --help (help2man)")
    list(APPEND _generated ${_out}/dimstream.1.gz)
    install(FILES ${_out}/dimstream.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  else()
    message(WARNING "help2man not found (scripts/setup.sh installs it): no man page is built or installed")
  endif()
endif()
add_custom_target(dimstream_install_files ALL DEPENDS ${_generated})

install(FILES ${_out}/libduckdb.so DESTINATION lib/dimstream)
install(FILES ${_packaging}/debian/copyright ${_out}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${_packaging}/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME dimstream)
install(FILES ${_packaging}/examples/embedded.toml ${_packaging}/examples/scaled-out.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(CODE "
  # /usr's /etc and /lib/systemd are the root's; any other prefix keeps them under it.
  if(CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/?$\")
    string(REGEX REPLACE \"/?usr/?$\" \"\" _dimstream_root \"\${CMAKE_INSTALL_PREFIX}\")
  else()
    set(_dimstream_root \"\${CMAKE_INSTALL_PREFIX}\")
  endif()
  file(INSTALL DESTINATION \"\${_dimstream_root}/lib/systemd/system\" TYPE FILE
       FILES \"${_packaging}/dimstream.service\")
  file(INSTALL DESTINATION \"\${_dimstream_root}/etc/dimstream\" TYPE FILE
       FILES \"${_packaging}/examples/embedded.toml\" RENAME dimstream.toml)
")

# The Debian package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dimstream)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${DIMSTREAM_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SCD Type 1 and Type 2 dimension tables from a stream of change files")
set(CPACK_PACKAGE_DESCRIPTION "dimstream keeps analytics-ready dimension tables up to date from a
stream of change files (CSV, JSON lines, Parquet), in well under a second: it
moves the files from a landing directory into a bucket, loads each exactly
once into raw tables, and merges them into slowly changing dimension tables
of Type 1 and Type 2. By default everything is embedded: one process, a
directory as the bucket and a DuckDB database. Scaled out, the bucket is on
S3, the notifications go through RabbitMQ and the warehouse is a PostgreSQL
database. The package runs it as a sandboxed systemd service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${DIMSTREAM_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${DIMSTREAM_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps computes the libraries' packages; libduckdb.so is the package's own (found through the
# binary's RUNPATH), adduser is for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_packaging}/debian/postinst ${_packaging}/debian/prerm
                                       ${_packaging}/debian/postrm ${_packaging}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

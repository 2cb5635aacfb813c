# dimstream_add_test(NAME SOURCES... LIBS... [SERVERS server...]): one GoogleTest executable registered with
# CTest. Each of SERVERS (rgw, ...) is a private server the tests talk to, started once for the whole run by
# a CTest fixture (dimstream_add_server below); the tests find its directory as $DIMSTREAM_TEST_SERVERS/<server>.
function(dimstream_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;SERVERS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  set(properties TIMEOUT 600)
  if(T_SERVERS)
    dimstream_servers_root(root)
    # One server per test binary for now: a list would need escaping through gtest_discover_tests.
    list(LENGTH T_SERVERS count)
    if(count GREATER 1)
      message(FATAL_ERROR "${name}: one server per test binary")
    endif()
    list(APPEND properties FIXTURES_REQUIRED ${T_SERVERS} ENVIRONMENT "DIMSTREAM_TEST_SERVERS=${root}")
  endif()
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
endfunction()

# Where a server's state lives for this build tree: under the system's temporary directory (the servers run
# as `nobody` when the tests run as root, and `nobody` may not be able to enter the build tree), one
# directory per build tree so that build and build-asan can test at the same time.
function(dimstream_servers_root out)
  string(MD5 tree "${CMAKE_BINARY_DIR}")
  string(SUBSTRING "${tree}" 0 10 tree)
  set(${out} "/tmp/dimstream-test-servers-${tree}" PARENT_SCOPE)
endfunction()

# dimstream_add_server(NAME SCRIPT): the CTest fixture NAME. `SCRIPT start DIR` runs before the first test
# that needs it, `SCRIPT stop DIR` after the last (and also when a test failed).
function(dimstream_add_server name script)
  dimstream_servers_root(root)
  set(dir "${root}/${name}")
  add_test(NAME server.${name}.start COMMAND ${script} start ${dir})
  add_test(NAME server.${name}.stop COMMAND ${script} stop ${dir})
  set_tests_properties(server.${name}.start PROPERTIES FIXTURES_SETUP ${name} TIMEOUT 180 LABELS server)
  set_tests_properties(server.${name}.stop PROPERTIES FIXTURES_CLEANUP ${name} TIMEOUT 60 LABELS server)
endfunction()

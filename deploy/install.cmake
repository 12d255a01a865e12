# install.cmake - what `make install` (cmake --install) puts where, included by CMakeLists.txt.
#
#   PREFIX/bin/solvd, PREFIX/bin/solvctl
#   PREFIX/share/solvd/dashboard/      the web UI         (dashboard-dir)
#   PREFIX/share/solvd/docs/           openapi.json, API and solver pages (docs-dir)
#   PREFIX/share/solvd/data/           the named data sets of data/ (data-dir)
#   PREFIX/lib/systemd/system/solvd.service   ExecStart = PREFIX/bin/solvd
#   SYSCONFDIR/solvd/solvd.conf        the sample, only when no config is there yet, with
#                                      dashboard-dir, docs-dir and data-dir set to the paths
#                                      above
#   PREFIX/share/solvd/solvd.conf.sample      always the current sample, for comparison
#
# Everything honours DESTDIR. SYSCONFDIR is /etc whatever the prefix (the unit reads
# /etc/solvd/solvd.conf); the unit directory can be moved with SOLVD_SYSTEMD_UNITDIR.

set(SOLVD_SYSCONFDIR "/etc" CACHE PATH "where solvd/solvd.conf is installed")
set(SOLVD_SYSTEMD_UNITDIR "" CACHE PATH
    "where solvd.service is installed (empty: PREFIX/lib/systemd/system)")

install(TARGETS solvd solvctl RUNTIME DESTINATION bin)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/clients/dashboard/ DESTINATION share/solvd/dashboard
        PATTERN "node_modules" EXCLUDE PATTERN ".*" EXCLUDE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/solvd/docs
        PATTERN ".*" EXCLUDE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/data/ DESTINATION share/solvd/data
        PATTERN ".*" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/solvd.conf.sample DESTINATION share/solvd)

# The unit and the config name installed paths, which are known only at install time
# (`cmake --install --prefix` may change the prefix): rewrite them then.
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(destdir \"\$ENV{DESTDIR}\")
  set(sysconf \"${SOLVD_SYSCONFDIR}\")
  set(unitdir \"${SOLVD_SYSTEMD_UNITDIR}\")
  if(unitdir STREQUAL \"\")
    set(unitdir \"\${prefix}/lib/systemd/system\")
  endif()

  file(READ \"${CMAKE_SOURCE_DIR}/deploy/solvd.service\" unit)
  string(REPLACE \"/usr/bin/solvd\" \"\${prefix}/bin/solvd\" unit \"\${unit}\")
  string(REPLACE \"/etc/solvd/solvd.conf\" \"\${sysconf}/solvd/solvd.conf\" unit \"\${unit}\")
  string(REPLACE \"/usr/share/solvd/\" \"\${prefix}/share/solvd/\" unit \"\${unit}\")
  message(STATUS \"Installing: \${destdir}\${unitdir}/solvd.service\")
  file(MAKE_DIRECTORY \"\${destdir}\${unitdir}\")
  file(WRITE \"\${destdir}\${unitdir}/solvd.service\" \"\${unit}\")

  set(conf \"\${destdir}\${sysconf}/solvd/solvd.conf\")
  if(EXISTS \"\${conf}\")
    message(STATUS \"Keeping: \${conf} (the new sample is \${prefix}/share/solvd/solvd.conf.sample)\")
  else()
    file(READ \"${CMAKE_SOURCE_DIR}/deploy/solvd.conf.sample\" text)
    string(REGEX REPLACE \"\\n#dashboard-dir = [^\\n]*\"
           \"\\ndashboard-dir = \${prefix}/share/solvd/dashboard\" text \"\${text}\")
    string(REGEX REPLACE \"\\n#docs-dir = [^\\n]*\"
           \"\\ndocs-dir = \${prefix}/share/solvd/docs\" text \"\${text}\")
    string(REGEX REPLACE \"\\n#data-dir = [^\\n]*\"
           \"\\ndata-dir = \${prefix}/share/solvd/data\" text \"\${text}\")
    message(STATUS \"Installing: \${conf}\")
    file(MAKE_DIRECTORY \"\${destdir}\${sysconf}/solvd\")
    file(WRITE \"\${conf}\" \"\${text}\")
  endif()
")

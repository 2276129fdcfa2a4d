# Install rules (AMX_INSTALL): the library `amx` with its headers (include/amx/**, and the generated
# amx/version.hpp), the `amx` tool, the CMake package (find_package(atomic_matrix CONFIG) ->
# atomic_matrix::amx) and the pkg-config file atomic_matrix.pc.
include(CMakePackageConfigHelpers)

set(AMX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/atomic_matrix)
set(AMX_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS amx EXPORT atomic_matrixTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET amx_cli)
  install(TARGETS amx_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT atomic_matrixTargets NAMESPACE atomic_matrix:: DESTINATION ${AMX_CMAKE_DIR})
configure_package_config_file(cmake/atomic_matrixConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/atomic_matrixConfig.cmake
                              INSTALL_DESTINATION ${AMX_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/atomic_matrixConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/atomic_matrixConfig.cmake
              ${PROJECT_BINARY_DIR}/atomic_matrixConfigVersion.cmake
        DESTINATION ${AMX_CMAKE_DIR})

# The .pc file finds its prefix from its own place (${pcfiledir}), so `cmake --install --prefix P`
# into any P gives a working file.
file(RELATIVE_PATH AMX_PC_TO_PREFIX /prefix/${AMX_PC_DIR} /prefix)
string(REGEX REPLACE "/$" "" AMX_PC_TO_PREFIX "${AMX_PC_TO_PREFIX}")
configure_file(cmake/atomic_matrix.pc.in ${PROJECT_BINARY_DIR}/atomic_matrix.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/atomic_matrix.pc DESTINATION ${AMX_PC_DIR})

# Installs the built clq into a scratch prefix, then builds and runs a
# consumer three ways: with find_package(clq) against the shared and the
# static library, and with the flags of the installed pkg-config file.
# Run as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P check_install.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
# Runs a command, fails with its output if it fails, and leaves its
# standard output (without the final newline) in run_output.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
  string(STRIP "${out}" out)
  set(run_output "${out}" PARENT_SCOPE)
endfunction()
set(prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(header clq.h clq_io.h)
  if(NOT EXISTS "${prefix}/include/${header}")
    message(FATAL_ERROR "${header} was not installed")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/consumer" "-DCMAKE_PREFIX_PATH=${prefix}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
foreach(lib clq clq_static)
  run("${WORK_DIR}/consumer/consumer_${lib}" "${WORK_DIR}/${lib}.safetensors")
endforeach()

file(GLOB pc_files "${prefix}/lib*/pkgconfig/clq.pc" "${prefix}/lib/*/pkgconfig/clq.pc")
if(NOT pc_files)
  message(FATAL_ERROR "clq.pc was not installed")
endif()
list(GET pc_files 0 pc)
get_filename_component(pc_dir "${pc}" DIRECTORY)
get_filename_component(lib_dir "${pc_dir}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run(pkg-config --modversion clq)
set(pc_version "${run_output}")
run(pkg-config --cflags --libs clq)
separate_arguments(pc_flags UNIX_COMMAND "${run_output}")
find_program(C_COMPILER NAMES cc gcc clang REQUIRED)
run("${C_COMPILER}" "${SOURCE_DIR}/consumer.c" -o "${WORK_DIR}/consumer_pkgconfig" ${pc_flags}
    "-DCLQ_PACKAGE_VERSION=\"${pc_version}\"")
set(ENV{LD_LIBRARY_PATH} "${lib_dir}")
run("${WORK_DIR}/consumer_pkgconfig" "${WORK_DIR}/pkgconfig.safetensors")

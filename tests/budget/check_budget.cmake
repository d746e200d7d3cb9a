# Runs scriptqa_budget_scan under callgrind and compares instructions per message with
# bench/budget.json. Called by CTest (tests/budget/CMakeLists.txt) as
#   cmake -DVALGRIND=... -DPROGRAM=... -DBUDGET=... -DWORKDIR=... [-DUPDATE=ON] -P check_budget.cmake
# With UPDATE=ON it rewrites the budget file from the measurement instead of checking.
#
# Why instructions: wall time on a shared 2-core machine varies by ±30 % from run to run, the
# number of instructions executed inside the scan loop does not (it depends only on the code, the
# rules and the messages). Only the scan loops are counted (CALLGRIND_START/STOP_INSTRUMENTATION
# around them), so compiling the filters does not blur the figure.
cmake_minimum_required(VERSION 3.20)

foreach(v PROGRAM BUDGET WORKDIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_budget.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT VALGRIND OR NOT EXISTS "${VALGRIND}")
  message("BUDGET-SKIPPED: valgrind is not installed (apt-get install valgrind; tools/deps/bench.txt)")
  return()
endif()

file(READ "${BUDGET}" budget_json)
string(JSON passes ERROR_VARIABLE err GET "${budget_json}" passes)
if(err)
  set(passes 2)
endif()
string(JSON default_tolerance GET "${budget_json}" tolerance_percent)
string(JSON changed_tolerance ERROR_VARIABLE err GET "${budget_json}" tolerance_percent_if_rules_changed)
if(err)
  set(changed_tolerance ${default_tolerance})
endif()

file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
execute_process(
  COMMAND "${VALGRIND}" --tool=callgrind --instr-atstart=no
          "--callgrind-out-file=${WORKDIR}/cg.out" "${PROGRAM}" --passes=${passes}
  WORKING_DIRECTORY "${WORKDIR}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err_out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "budget: ${PROGRAM} failed under valgrind (${rc}):\n${out}\n${err_out}")
endif()
message("${out}")

# Program output: "phase NAME: rules=R hash=H messages=M bytes=B passes=P findings=F".
set(phases "")
string(REGEX MATCHALL "phase [a-z0-9_]+: [^\n]*" lines "${out}")
foreach(line IN LISTS lines)
  string(REGEX MATCH "^phase ([a-z0-9_]+): rules=([0-9]+) hash=([0-9a-f]+) messages=([0-9]+) bytes=([0-9]+) passes=([0-9]+) findings=([0-9]+)" m "${line}")
  if(NOT m)
    message(FATAL_ERROR "budget: cannot parse '${line}'")
  endif()
  set(name ${CMAKE_MATCH_1})
  list(APPEND phases ${name})
  set(rules_${name} ${CMAKE_MATCH_2})
  set(hash_${name} ${CMAKE_MATCH_3})
  math(EXPR scans_${name} "${CMAKE_MATCH_4} * ${CMAKE_MATCH_6}")
  set(findings_${name} ${CMAKE_MATCH_7})
endforeach()

# Callgrind dumps: one file per CALLGRIND_DUMP_STATS_AT("phase:NAME").
file(GLOB dumps "${WORKDIR}/cg.out.*")
foreach(f IN LISTS dumps)
  file(STRINGS "${f}" head REGEX "^(desc: Trigger: Client Request: phase:|totals: |summary: )")
  set(name "")
  set(total "")
  foreach(l IN LISTS head)
    if(l MATCHES "^desc: Trigger: Client Request: phase:([a-z0-9_]+)")
      set(name ${CMAKE_MATCH_1})
    elseif(l MATCHES "^totals: ([0-9]+)")
      set(total ${CMAKE_MATCH_1})
    elseif(l MATCHES "^summary: ([0-9]+)" AND total STREQUAL "")
      set(total ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(name AND NOT total STREQUAL "")
    set(ir_${name} ${total})
  endif()
endforeach()

set(failures "")
set(report "")
set(new_phases "{}")
foreach(name IN LISTS phases)
  if(NOT DEFINED ir_${name})
    message(FATAL_ERROR "budget: no callgrind dump for phase ${name} in ${WORKDIR}")
  endif()
  # Instructions per scanned message (integer; the scan count is in the hundreds).
  math(EXPR per "(${ir_${name}} + ${scans_${name}} / 2) / ${scans_${name}}")
  string(JSON new_phases SET "${new_phases}" ${name}
    "{\"instructions_per_message\": ${per}, \"rules\": ${rules_${name}}, \"rules_hash\": \"${hash_${name}}\", \"findings\": ${findings_${name}}}")
  if(UPDATE)
    string(APPEND report "  ${name}: ${per} instructions/message (recorded)\n")
    continue()
  endif()
  string(JSON limit ERROR_VARIABLE missing GET "${budget_json}" phases ${name} instructions_per_message)
  if(missing)
    string(APPEND report "  ${name}: ${per} instructions/message (no budget recorded; not checked)\n")
    continue()
  endif()
  set(tol ${default_tolerance})
  string(JSON recorded_hash ERROR_VARIABLE no_hash GET "${budget_json}" phases ${name} rules_hash)
  set(note "")
  if(NOT no_hash AND NOT recorded_hash STREQUAL hash_${name})
    # The rules changed since the budget was recorded (the shipped packs are edited often): a
    # looser bound still catches a gross regression without failing every dictionary edit.
    set(tol ${changed_tolerance})
    set(note " [rules changed since the budget was recorded; refresh it with the update_budget target]")
  endif()
  # CMake math is integer-only: compare in per-mille.
  math(EXPR permille "${tol} * 10")
  math(EXPR allowed "${limit} * (1000 + ${permille}) / 1000")
  math(EXPR change "(${per} - ${limit}) * 1000 / ${limit}")
  if(change LESS 0)
    math(EXPR shown "0 - ${change}")
    set(sign "-")
  else()
    set(shown ${change})
    set(sign "+")
  endif()
  math(EXPR shown_int "${shown} / 10")
  math(EXPR shown_dec "${shown} % 10")
  set(delta "${sign}${shown_int}.${shown_dec} %")
  if(per GREATER allowed)
    string(APPEND failures "  ${name}: ${per} instructions/message > budget ${limit} + ${tol} % (${delta})${note}\n")
    string(APPEND report "  ${name}: ${per} instructions/message, budget ${limit}, ${delta}: OVER BUDGET${note}\n")
  else()
    string(APPEND report "  ${name}: ${per} instructions/message, budget ${limit}, ${delta}: ok${note}\n")
    math(EXPR floor "${limit} * (1000 - ${permille}) / 1000")
    if(per LESS floor)
      string(APPEND report "    (well under budget: lower it with the update_budget target to lock the gain in)\n")
    endif()
  endif()
endforeach()

if(UPDATE)
  string(JSON budget_json SET "${budget_json}" phases "${new_phases}")
  file(WRITE "${BUDGET}" "${budget_json}\n")
  message("budget: wrote ${BUDGET}\n${report}")
  return()
endif()
message("budget (instructions per message inside the scan loop, callgrind):\n${report}")
if(failures)
  message(FATAL_ERROR "budget: over budget:\n${failures}"
    "If the slowdown is intended (e.g. a new feature), refresh bench/budget.json with\n"
    "  cmake --build <build dir> --target update_budget\n"
    "and say why in the commit message.")
endif()

# The C++ blocks of a document, compiled exactly as written: each ```cpp block must begin with
#   // snippet: NAME          a whole program (its includes, main returning 0 when its checks
#                             hold), written verbatim to snippet_<prefix>_NAME.cpp, then built
#                             and run by the test docs_<prefix>_NAME
#   // not compiled: REASON   a fragment (a contract, a list of declarations), with the reason
# Any other ```cpp block, a reason left empty or a name given twice stops the configuration, so a
# document cannot hold C++ that no test compiles without saying why. Nothing is added to a block.
#
# cnnlstm_doc_snippets(DOC PREFIX OUT_DIR RESULT): RESULT is the list of the snippets' NAMEs.
function(cnnlstm_doc_snippets doc prefix out_dir result)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${doc})
  file(READ ${doc} rest)  # read whole, not as a list of lines: C++ is full of ';' and '['
  set(names)
  while(TRUE)
    string(FIND "${rest}" "```cpp\n" open)
    if(open EQUAL -1)
      break()
    endif()
    math(EXPR open "${open} + 7")
    string(SUBSTRING "${rest}" ${open} -1 rest)
    string(FIND "${rest}" "\n```" close)
    if(close EQUAL -1)
      message(FATAL_ERROR "${doc}: a ```cpp block is not closed")
    endif()
    math(EXPR length "${close} + 1")
    string(SUBSTRING "${rest}" 0 ${length} code)
    math(EXPR close "${close} + 4")
    string(SUBSTRING "${rest}" ${close} -1 rest)
    string(FIND "${code}" "\n" end_of_first)
    string(SUBSTRING "${code}" 0 ${end_of_first} first)
    if(first MATCHES "^// snippet: ([a-z_]+)$")
      set(name ${CMAKE_MATCH_1})
      if(name IN_LIST names)
        message(FATAL_ERROR "${doc}: snippet '${name}' is named twice")
      endif()
      list(APPEND names ${name})
      set(file ${out_dir}/snippet_${prefix}_${name}.cpp)
      set(old "")
      if(EXISTS ${file})
        file(READ ${file} old)
      endif()
      if(NOT old STREQUAL code)  # rewritten only when changed, so nothing rebuilds needlessly
        file(WRITE ${file} "${code}")
      endif()
    elseif(NOT first MATCHES "^// not compiled: [^ ].*[^ ]$")
      message(FATAL_ERROR "${doc}: a ```cpp block must begin with \"// snippet: NAME\" (compiled "
                          "and run) or \"// not compiled: REASON\", got \"${first}\"")
    endif()
  endwhile()
  set(${result} ${names} PARENT_SCOPE)
endfunction()

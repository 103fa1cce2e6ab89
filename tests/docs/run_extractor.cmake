# cmake -DDOC=file.md -DOUT_DIR=folder -P run_extractor.cmake: extract_snippets.cmake on one
# document, as the build does; the tests run it on documents it must refuse (tests/docs/refused/).
cmake_minimum_required(VERSION 3.20)
include(${CMAKE_CURRENT_LIST_DIR}/extract_snippets.cmake)
cnnlstm_doc_snippets(${DOC} check ${OUT_DIR} names)

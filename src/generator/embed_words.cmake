# Turns the word lists into C++ at build time so that the generator needs no data files at run time.
# Usage: cmake -DWORDS_DIR=<dir> -DLISTS=first_names,last_names,... -DOUTPUT=<file.cpp> -P embed_words.cmake
# Each <dir>/<name>.txt becomes `const std::string_view k<Name>` (snake_case to CamelCase), declared in
# generator/words_data.h. The text is embedded verbatim in a raw string literal; words.cpp splits it.
string(REPLACE "," ";" lists "${LISTS}")
set(out "// Generated from src/generator/words/*.txt by src/generator/embed_words.cmake. Do not edit.\n")
string(APPEND out "#include \"generator/words_data.h\"\n\nnamespace dimstream::words_data {\n\n")
foreach(name IN LISTS lists)
  file(READ "${WORDS_DIR}/${name}.txt" text)
  string(FIND "${text}" ")dimstream_words\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${WORDS_DIR}/${name}.txt contains the raw string delimiter")
  endif()
  string(REGEX MATCHALL "[^_]+" parts "${name}")
  set(camel "")
  foreach(part IN LISTS parts)
    string(SUBSTRING "${part}" 0 1 head)
    string(SUBSTRING "${part}" 1 -1 tail)
    string(TOUPPER "${head}" head)
    string(APPEND camel "${head}${tail}")
  endforeach()
  string(APPEND out "extern const std::string_view k${camel};\n")
  string(APPEND out "const std::string_view k${camel} = R\"dimstream_words(${text})dimstream_words\";\n\n")
endforeach()
string(APPEND out "}  // namespace dimstream::words_data\n")
# Written through a temporary file and copied only when different, so that touching a list without
# changing it does not rebuild the library.
file(WRITE "${OUTPUT}.new" "${out}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")

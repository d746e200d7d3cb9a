// Build-time helper of the Python package: compiles the shipped rule packs into the serialized
// database that scriptqa.Filter.default() loads in milliseconds.
//   scriptqa_python_mkdb OUT.sqdb DICTIONARY.rules...
// The database is tied to the engine version and the CPU platform (scriptqa/filter.h); the
// package falls back to compiling the packs when it does not fit the machine it runs on.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "scriptqa/filter.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " OUT.sqdb DICTIONARY.rules...\n";
    return 2;
  }
  // Rules are named "dictionaries/<file>" (Rule::file), as in the source tree and in the installed
  // package, so the pre-compiled and the fallback-compiled default filters are indistinguishable.
  std::vector<scriptqa::DictionarySource> sources;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cerr << argv[i] << ": cannot open\n";
      return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string path = argv[i];
    std::string name = "dictionaries/" + path.substr(path.find_last_of('/') + 1);
    sources.push_back(scriptqa::DictionarySource::Text(name, text.str()));
  }
  auto filter = scriptqa::Filter::FromDictionaries(sources);
  if (!filter.ok()) {
    std::cerr << filter.status().message() << "\n";
    return 1;
  }
  absl::Status st = (*filter)->SaveFile(argv[1]);
  if (!st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  return 0;
}

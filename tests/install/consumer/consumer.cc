// Uses the installed C++ API: the default packs from the installed share directory, a block scan,
// a stream and a reload handle. Prints "consumer_cxx ok" and exits 0 when all works.
#include <cstdio>
#include <string>

#include "scriptqa/reload.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

#ifndef DICTIONARY_DIR
#define DICTIONARY_DIR ""
#endif

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : DICTIONARY_DIR;
  std::vector<std::string> packs;
  for (const char* p : {"ad_law", "off_platform", "privacy"}) packs.push_back(dir + "/" + p + ".rules");
  auto filter = scriptqa::Filter::FromFiles(packs);
  if (!filter.ok()) {
    std::fprintf(stderr, "consumer_cxx: %s\n", std::string(filter.status().message()).c_str());
    return 1;
  }
  auto scanner = scriptqa::Scanner::Create(*filter);
  const std::string msg = "这款是全网最低价，加我薇信";
  auto findings = scanner->Scan(msg);
  if (!findings.ok() || findings->size() != 2) {
    std::fprintf(stderr, "consumer_cxx: expected 2 findings\n");
    return 1;
  }
  auto stream = scriptqa::StreamScanner::Create(*filter);
  for (size_t i = 0; i < msg.size(); i += 2) (void)stream->Write(msg.substr(i, 2));
  auto end = stream->Finish();
  auto handle = scriptqa::FilterHandle::Create(*filter);
  if (!end.ok() || stream->findings().size() != 2 || !handle.ok()) {
    std::fprintf(stderr, "consumer_cxx: stream or handle failed\n");
    return 1;
  }
  std::printf("consumer_cxx ok: %s -> %s\n", std::string((*findings)[0].rule_id()).c_str(),
              (*findings)[0].Suggestion().c_str());
  return 0;
}

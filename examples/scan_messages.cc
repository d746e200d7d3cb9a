// Scans agent messages (one per line, '#' lines skipped) with the default rule packs and prints
// each finding with its span, suggestion and reason. The smallest complete use of the library:
//   build/examples/scan_messages examples/sample_messages.txt
#include <fstream>
#include <iostream>
#include <string>

#include "scriptqa/scanner.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " MESSAGES.txt\n";
    return 2;
  }
  // Once per process: compile the shipped packs (or Filter::LoadFile a precompiled database).
  absl::StatusOr<std::shared_ptr<const scriptqa::Filter>> filter = scriptqa::Filter::Default();
  if (!filter.ok()) {
    std::cerr << filter.status() << "\n";
    return 1;
  }
  // Once per thread: a scanner with its own scratch space.
  absl::StatusOr<scriptqa::Scanner> scanner = scriptqa::Scanner::Create(*filter);
  if (!scanner.ok()) {
    std::cerr << scanner.status() << "\n";
    return 1;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << argv[1] << ": cannot open\n";
    return 2;
  }
  std::string line;
  int line_no = 0, flagged = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    absl::StatusOr<std::vector<scriptqa::Finding>> findings = scanner->Scan(line);
    if (!findings.ok()) {
      std::cerr << argv[1] << ":" << line_no << ": " << findings.status() << "\n";
      continue;
    }
    std::cout << (findings->empty() ? "  ok   " : "  FLAG ") << line << "\n";
    flagged += !findings->empty();
    for (const scriptqa::Finding& f : *findings) {
      std::cout << "         " << scriptqa::SeverityName(f.severity) << " " << f.rule_id() << " ["
                << f.chars.begin << "," << f.chars.end << ") \"" << f.text << "\" -> \""
                << f.Suggestion() << "\"  (" << f.reason() << ")\n";
    }
  }
  std::cout << flagged << " flagged message(s); rules: " << (*filter)->info().rule_count << "\n";
  return 0;
}

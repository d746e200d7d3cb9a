// Measures the default packs on real transcripts: scans the agent messages of the corpus
// (../shared/corpus/jddc_sample_dialogues.jsonl, read at run time, never copied), reports the share
// of messages flagged per severity and category, and lists every block/review finding with the
// reviewed verdict from tests/quality/verdicts.tsv (true violation or false alarm).
//
//   scriptqa_quality CORPUS.jsonl VERDICTS.tsv [--markdown]
//
// Exit status: 0 when the bars hold (≤ 0.5 % of agent messages flagged block/review, ≥ 90 % of
// those flags true) and every flag has a verdict; 1 otherwise; 2 on bad input.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "scriptqa/scanner.h"

namespace {

struct Verdict {
  bool violation = false;
  std::string note;
};

std::string Key(const std::string& conv, int turn, const std::string& rule) {
  return conv + "\t" + std::to_string(turn) + "\t" + rule;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " CORPUS.jsonl VERDICTS.tsv [--markdown]\n";
    return 2;
  }
  const bool markdown = argc > 3 && std::string(argv[3]) == "--markdown";
  std::map<std::string, Verdict> verdicts;
  {
    std::ifstream in(argv[2]);
    if (!in) {
      std::cerr << argv[2] << ": cannot open\n";
      return 2;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> f;
      std::stringstream ss(line);
      std::string field;
      while (std::getline(ss, field, '\t')) f.push_back(field);
      if (f.size() < 4 || (f[3] != "true" && f[3] != "false")) {
        std::cerr << argv[2] << ":" << n << ": expected conversation_id, turn, rule, true|false, note\n";
        return 2;
      }
      verdicts[Key(f[0], std::stoi(f[1]), f[2])] = {f[3] == "true", f.size() > 4 ? f[4] : ""};
    }
  }
  auto filter = scriptqa::Filter::Default();
  if (!filter.ok()) {
    std::cerr << filter.status() << "\n";
    return 2;
  }
  auto scanner = scriptqa::Scanner::Create(*filter);
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << argv[1] << ": cannot open\n";
    return 2;
  }
  size_t agent = 0, flagged_br = 0, flagged_any = 0, line_no = 0;
  std::map<std::string, size_t> per_severity, per_category;
  size_t true_flags = 0, false_flags = 0, unreviewed = 0;
  std::set<std::string> used;
  std::ostringstream rows;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) {
      std::cerr << argv[1] << ":" << line_no << ": not a JSON object\n";
      return 2;
    }
    if (j.value("role", "") != "agent") continue;
    ++agent;
    const std::string text = j.value("text", ""), conv = j.value("conversation_id", "");
    const int turn = j.value("turn", -1);
    auto fs = scanner->Scan(text);
    if (!fs.ok()) {
      std::cerr << argv[1] << ":" << line_no << ": " << fs.status() << "\n";
      return 2;
    }
    bool br = false;
    std::set<std::string> sev_seen, cat_seen;
    for (const scriptqa::Finding& f : *fs) {
      sev_seen.insert(std::string(scriptqa::SeverityName(f.severity)));
      cat_seen.insert(std::string(f.category()) + "/" + std::string(scriptqa::SeverityName(f.severity)));
      if (f.severity < scriptqa::Severity::kReview) continue;
      br = true;
      std::string k = Key(conv, turn, f.rule->id);
      auto it = verdicts.find(k);
      std::string verdict = "UNREVIEWED";
      if (it == verdicts.end()) {
        ++unreviewed;
      } else {
        used.insert(k);
        (it->second.violation ? true_flags : false_flags)++;
        verdict = it->second.violation ? "true" : "false alarm";
        if (!it->second.note.empty()) verdict += " (" + it->second.note + ")";
      }
      rows << "| " << conv << " | " << turn << " | " << f.rule->id << " | "
           << scriptqa::SeverityName(f.severity) << " | " << f.text << " | " << verdict << " |\n";
      if (!markdown) rows << "    message: " << text << "\n";
    }
    for (const auto& s : sev_seen) ++per_severity[s];
    for (const auto& c : cat_seen) ++per_category[c];
    flagged_br += br;
    flagged_any += !fs->empty();
  }
  auto pct = [&](size_t n) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(2) << (agent ? 100.0 * n / agent : 0.0) << " %";
    return o.str();
  };
  const double share = agent ? 100.0 * flagged_br / agent : 0.0;
  const size_t judged = true_flags + false_flags;
  const double precision = judged ? 100.0 * true_flags / judged : 100.0;
  std::cout << "agent messages scanned: " << agent << "\n"
            << "flagged at any severity: " << flagged_any << " (" << pct(flagged_any) << ")\n"
            << "flagged block/review:    " << flagged_br << " (" << pct(flagged_br) << ")\n\n"
            << "| severity | messages | share |\n|---|---|---|\n";
  for (const auto& [s, n] : per_severity) std::cout << "| " << s << " | " << n << " | " << pct(n) << " |\n";
  std::cout << "\n| category/severity | messages | share |\n|---|---|---|\n";
  for (const auto& [c, n] : per_category) std::cout << "| " << c << " | " << n << " | " << pct(n) << " |\n";
  std::cout << "\nblock/review findings:\n\n| conversation | turn | rule | severity | matched | verdict |\n"
            << "|---|---|---|---|---|---|\n"
            << rows.str() << "\n"
            << "true: " << true_flags << ", false alarms: " << false_flags
            << ", unreviewed: " << unreviewed << "\n"
            << "precision of block/review flags: " << std::fixed << std::setprecision(1) << precision
            << " % (bar ≥ 90 %)\n"
            << "share flagged block/review: " << std::setprecision(2) << share << " % (bar ≤ 0.5 %)\n";
  for (const auto& [k, v] : verdicts)
    if (!used.count(k)) std::cout << "stale verdict (no longer flagged): " << k << "\n";
  bool ok = unreviewed == 0 && share <= 0.5 && precision >= 90.0;
  std::cout << (ok ? "PASS" : "FAIL") << "\n";
  return ok ? 0 : 1;
}

#include "commands.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "scriptqa/evaluate.h"
#include "scriptqa/mask.h"

namespace scriptqa::cli {

namespace {

using json = nlohmann::ordered_json;

// The message: the words joined, or standard input read to its end. A read error (no standard
// input, a directory) is an error, not an empty message.
absl::StatusOr<std::string> ReadMessage(std::string_view command,
                                        const std::vector<std::string>& words) {
  // A file named where the message goes is almost always meant to be read, not checked as the
  // text "msgs.txt": say how, instead of reporting that its name has no findings.
  for (const std::string& w : words) {
    struct stat st;
    if (w == "-" || stat(w.c_str(), &st) != 0) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", w, "\" is a ", S_ISDIR(st.st_mode) ? "directory" : "file",
        ", not a message: ",
        command == "check" ? absl::StrCat("for one result per line use scriptqa check --lines ", w,
                                          "; ")
                           : "",
        "to ", AV(command), " its whole text as one message, scriptqa ", AV(command), " < ", w));
  }
  if (!words.empty() && !(words.size() == 1 && words[0] == "-")) return absl::StrJoin(words, " ");
  std::string text;
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the message from standard input: ", std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

std::string SeverityLabel(Severity s, bool color) {
  std::string name = absl::StrFormat("%-6s", SeverityName(s));
  return color ? absl::StrCat(SeverityColor(s), name, kReset) : name;
}

void PrintFindingLines(const std::vector<OwnedFinding>& findings, bool color) {
  for (const OwnedFinding& f : findings) {
    std::cout << "  " << SeverityLabel(f.severity, color) << " " << f.rule->id << "  ["
              << f.chars.begin << "," << f.chars.end << ") \"" << f.matched << "\"";
    if (!f.suggestion.empty()) std::cout << " → " << f.suggestion;
    std::cout << "\n         " << f.rule->reason << "\n";
  }
}

std::string CountLine(const std::vector<OwnedFinding>& findings) {
  if (findings.empty()) return "no findings";
  size_t n[3] = {0, 0, 0};
  for (const OwnedFinding& f : findings) ++n[static_cast<int>(f.severity)];
  std::vector<std::string> parts;
  for (int s = 2; s >= 0; --s)
    if (n[s] > 0) parts.push_back(absl::StrCat(AV(SeverityName(static_cast<Severity>(s))), " ", n[s]));
  return absl::StrCat(findings.size(), findings.size() == 1 ? " finding (" : " findings (",
                      absl::StrJoin(parts, ", "), ")");
}

json FindingsJson(const std::vector<OwnedFinding>& findings) {
  json arr = json::array();
  for (const OwnedFinding& f : findings) arr.push_back(FindingJson(f));
  return arr;
}

// Common start of the one-message commands.
struct OneMessage {
  ScanSetup setup;
  std::optional<Scanner> scanner;
  std::string text;
};

absl::StatusOr<OneMessage> Prepare(std::string_view command, const CommonFlags& flags,
                                   const std::vector<std::string>& words) {
  OneMessage m;
  absl::StatusOr<ScanSetup> setup = MakeScanSetup(flags);
  if (!setup.ok()) return setup.status();
  m.setup = *std::move(setup);
  absl::StatusOr<Scanner> scanner = Scanner::Create(m.setup.filter);
  if (!scanner.ok()) return scanner.status();
  m.scanner.emplace(*std::move(scanner));
  absl::StatusOr<std::string> text = ReadMessage(command, words);
  if (!text.ok()) return text.status();
  m.text = *std::move(text);
  return m;
}

int Fail(std::string_view command, const absl::Status& status) {
  std::cerr << "scriptqa " << command << ": " << status.message() << "\n";
  return kExitUsage;
}

}  // namespace

namespace {

// `check --lines`: one message per input line, one result per line, in input order.
int RunCheckLines(const CommonFlags& flags, const std::vector<std::string>& files) {
  absl::StatusOr<ScanSetup> setup = MakeScanSetup(flags);
  if (!setup.ok()) return Fail("check", setup.status());
  absl::StatusOr<Scanner> scanner = Scanner::Create(setup->filter);
  if (!scanner.ok()) return Fail("check", scanner.status());
  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.push_back("-");
  if (std::count(inputs.begin(), inputs.end(), "-") > 1)
    return Fail("check", absl::InvalidArgumentError("standard input (-) can be given only once"));
  const bool color = !flags.json && UseColor(flags.color);
  const bool name_files = inputs.size() > 1;
  bool fails = false;
  for (const std::string& input : inputs) {
    std::ifstream file;
    if (input != "-") {
      struct stat st;
      if (stat(input.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return Fail("check", absl::InvalidArgumentError(absl::StrCat(input, ": is a directory")));
      file.open(input, std::ios::binary);
      if (!file)
        return Fail("check", absl::NotFoundError(absl::StrCat(input, ": cannot open: ",
                                                               std::strerror(errno))));
    }
    std::istream& in = input == "-" ? std::cin : file;
    std::string line;
    for (uint64_t n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      absl::StatusOr<ScannedMessage> scanned = ScanOwned(*scanner, *setup, line);
      std::string where = name_files ? absl::StrCat(input, ":", n) : absl::StrCat(n);
      if (!scanned.ok()) {
        // One line the library refuses (too long after normalisation) is reported in its place.
        if (flags.json) {
          std::cout << json{{"line", n}, {"file", input == "-" ? "<stdin>" : input},
                            {"error", std::string(scanned.status().message())}}
                           .dump(-1, ' ', false, json::error_handler_t::replace)
                    << "\n";
        } else {
          std::cout << where << ": error: " << scanned.status().message() << "\n";
        }
        continue;
      }
      bool line_fails = false;
      for (const OwnedFinding& f : scanned->findings)
        line_fails = line_fails || setup->Fails(f.severity);
      fails = fails || line_fails;
      if (flags.json) {
        json out{{"line", n}};
        if (name_files) out["file"] = input == "-" ? "<stdin>" : input;
        out["text"] = scanned->shown;
        out["findings"] = FindingsJson(scanned->findings);
        out["fails"] = line_fails;
        std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        continue;
      }
      std::cout << where << ": " << CountLine(scanned->findings);
      for (size_t i = 0; i < scanned->findings.size(); ++i) {
        const OwnedFinding& f = scanned->findings[i];
        const std::string_view sev = SeverityName(f.severity);
        std::cout << (i == 0 ? ": " : "; ")
                  << (color ? absl::StrCat(SeverityColor(f.severity), AV(sev), kReset)
                            : std::string(sev))
                  << " " << f.rule->id << " [" << f.chars.begin << "," << f.chars.end << ") \""
                  << f.matched << "\"";
      }
      std::cout << "\n";
    }
    if (in.bad())
      return Fail("check", absl::DataLossError(absl::StrCat(input == "-" ? "standard input" : input,
                                                             ": read error")));
  }
  return fails ? kExitFindings : kExitOk;
}

}  // namespace

int RunCheck(const CommonFlags& flags, const std::vector<std::string>& words, bool lines) {
  if (lines) return RunCheckLines(flags, words);
  absl::StatusOr<OneMessage> m = Prepare("check", flags, words);
  if (!m.ok()) return Fail("check", m.status());
  absl::StatusOr<ScannedMessage> scanned = ScanOwned(*m->scanner, m->setup, m->text);
  if (!scanned.ok()) return Fail("check", scanned.status());
  const std::vector<OwnedFinding>* findings = &scanned->findings;
  const std::string& shown = scanned->shown;
  bool fails = false;
  for (const OwnedFinding& f : *findings) fails = fails || m->setup.Fails(f.severity);
  if (flags.json) {
    json out{{"text", shown}, {"findings", FindingsJson(*findings)}, {"fails", fails}};
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    bool color = UseColor(flags.color);
    std::cout << Highlight(shown, *findings, color) << "\n";
    PrintFindingLines(*findings, color);
    std::cout << CountLine(*findings) << "\n";
  }
  return fails ? kExitFindings : kExitOk;
}

int RunRewrite(const CommonFlags& flags, const std::vector<std::string>& words) {
  absl::StatusOr<OneMessage> m = Prepare("rewrite", flags, words);
  if (!m.ok()) return Fail("rewrite", m.status());
  absl::StatusOr<Rewritten> r = m->scanner->Rewrite(m->text, m->setup.options);
  if (!r.ok()) return Fail("rewrite", r.status());
  // What was replaced is shown as the original message shows it; the rewritten text is masked
  // too (a category filter can leave personal data in it).
  const std::string shown = Shown(*m->scanner, m->setup, m->text, r->replaced);
  std::vector<OwnedFinding> replaced;
  for (const Finding& f : r->replaced) replaced.push_back(Own(f, shown));
  const std::string rewritten = Shown(*m->scanner, m->setup, r->text, {});
  if (flags.json) {
    json out{{"text", shown},
             {"rewritten", rewritten},
             {"clean", r->clean},
             {"replaced", FindingsJson(replaced)}};
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    std::cout << rewritten << "\n";
  }
  return r->clean ? kExitOk : kExitFindings;
}

int RunExplain(const CommonFlags& flags, const std::vector<std::string>& words) {
  absl::StatusOr<OneMessage> m = Prepare("explain", flags, words);
  if (!m.ok()) return Fail("explain", m.status());
  absl::StatusOr<Explanation> e = m->scanner->Explain(m->text, m->setup.options);
  if (!e.ok()) return Fail("explain", e.status());
  // Personal data: both texts are masked where a privacy rule hit, whatever became of the hit
  // (an ID with a wrong check digit is still somebody's number), and wherever a digit run or an
  // e-mail could be personal data.
  std::string text = Shown(*m->scanner, m->setup, m->text, e->findings);
  std::string normalized = e->normalized;
  if (m->setup.mask) {
    std::vector<Span> original, spans;
    for (const Trace& t : e->traces) {
      if (t.rule->category != kPersonalDataCategory) continue;
      original.push_back(t.bytes);
      spans.push_back(t.normalized);
    }
    MaskPersonalDataInPlace(&text, original);
    MaskPersonalDataInPlace(&normalized, spans);
  }
  std::vector<OwnedFinding> findings;
  bool fails = false;
  for (const Finding& f : e->findings) {
    findings.push_back(Own(f, text));
    fails = fails || m->setup.Fails(f.severity);
  }
  auto slice = [](const std::string& s, Span span) {
    return span.end <= s.size() ? s.substr(span.begin, span.size()) : std::string();
  };
  if (flags.json) {
    json traces = json::array();
    for (const Trace& t : e->traces) {
      traces.push_back({{"rule", t.rule->id},
                        {"category", t.rule->category},
                        {"decision", std::string(DecisionName(t.decision))},
                        {"detail", t.detail},
                        {"byte_start", t.bytes.begin},
                        {"byte_end", t.bytes.end},
                        {"start", t.chars.begin},
                        {"end", t.chars.end},
                        {"matched", slice(text, t.bytes)},
                        {"normalized_start", t.normalized.begin},
                        {"normalized_end", t.normalized.end}});
    }
    json out{{"text", text},
             {"normalized", normalized},
             {"traces", traces},
             {"findings", FindingsJson(findings)}};
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    bool color = UseColor(flags.color);
    std::cout << "message:    " << text << "\n";
    std::cout << "normalized: " << normalized << "\n";
    std::cout << (e->traces.empty() ? "raw hits:   none\n" : "raw hits:\n");
    for (const Trace& t : e->traces) {
      std::string decision(DecisionName(t.decision));
      if (color)
        decision = absl::StrCat(t.decision == Decision::kReported ? "\x1b[1;31m" : "\x1b[2m",
                                absl::StrFormat("%-16s", decision), kReset);
      else
        decision = absl::StrFormat("%-16s", decision);
      std::cout << "  " << decision << " " << t.rule->id << "  bytes [" << t.bytes.begin << ","
                << t.bytes.end << ") \"" << slice(text, t.bytes) << "\"";
      if (!t.detail.empty()) std::cout << "  — " << t.detail;
      std::cout << "\n";
    }
    std::cout << "findings:\n";
    PrintFindingLines(findings, color);
    std::cout << CountLine(findings) << "\n";
  }
  return fails ? kExitFindings : kExitOk;
}

int RunCompile(const CommonFlags& flags, const std::vector<std::string>& files,
               const std::string& output) {
  CommonFlags f = flags;
  f.rules.insert(f.rules.end(), files.begin(), files.end());
  std::string source;
  absl::StatusOr<std::shared_ptr<const Filter>> filter = LoadRules(f, &source, /*use_cache=*/false);
  if (!filter.ok()) return Fail("compile", filter.status());
  absl::Status st = (*filter)->SaveFile(output);
  if (!st.ok()) return Fail("compile", st);
  const FilterInfo& info = (*filter)->info();
  if (flags.json) {
    std::cout << json{{"output", output},
                      {"source", source},
                      {"rules", info.rule_count},
                      {"literals", info.literal_count},
                      {"regexes", info.regex_count},
                      {"database_bytes", info.database_bytes},
                      {"hash", absl::StrFormat("%016x", info.rules_hash)},
                      {"engine", info.engine_version}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "wrote " << output << ": " << info.rule_count << " rules (" << info.literal_count
              << " literals, " << info.regex_count << " regexes), database "
              << info.database_bytes << " bytes, hash "
              << absl::StrFormat("%016x", info.rules_hash) << ", engine " << info.engine_version
              << "\n";
  }
  return kExitOk;
}

int RunLint(const CommonFlags& flags, const std::vector<std::string>& files) {
  CommonFlags f = flags;
  f.rules.insert(f.rules.end(), files.begin(), files.end());
  std::string source;
  struct Problem {
    std::string file;
    uint32_t line;
    std::string rule, message;
    bool warning;
  };
  std::vector<Problem> problems;
  absl::StatusOr<std::shared_ptr<const Filter>> filter = LoadRules(f, &source, /*use_cache=*/false);
  size_t examples = 0;
  if (!filter.ok()) {
    // The status holds one problem per line, "file:line: rule ID: message", after a heading.
    for (absl::string_view line : absl::StrSplit(filter.status().message(), '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(": ", 2));
      size_t colon = parts[0].rfind(':');
      uint32_t number = 0;
      if (parts.size() < 3 || colon == absl::string_view::npos ||
          !absl::SimpleAtoi(parts[0].substr(colon + 1), &number) || !absl::StartsWith(parts[1], "rule ")) {
        if (problems.empty() && parts.size() == 1 && absl::EndsWith(line, ":")) continue;  // heading
        problems.push_back({"", 0, "", std::string(line), false});
        continue;
      }
      problems.push_back({std::string(parts[0].substr(0, colon)), number,
                          std::string(parts[1].substr(5)), std::string(parts[2]), false});
    }
  } else {
    absl::StatusOr<Scanner> scanner = Scanner::Create(*filter);
    if (!scanner.ok()) return Fail("lint", scanner.status());
    ScanOptions all;
    all.overlap = Overlap::kAll;  // does the rule fire at all, whatever else matches
    for (const Rule& rule : (*filter)->rules()) {
      // What the suggestion templates are rendered for: the first firing hit example's match
      // (never empty), else the first literal.
      std::string matched, last_match;
      auto fires = [&](const std::string& text, std::string* where) {
        bool found = false;
        absl::Status st = scanner->Scan(text, all, [&](const Finding& fd) {
          if (fd.rule != &rule) return ScanControl::kContinue;
          *where = absl::StrCat("[", fd.chars.begin, ",", fd.chars.end, ") \"", AV(fd.text), "\"");
          last_match = std::string(fd.text);
          found = true;
          return ScanControl::kStop;
        });
        return st.ok() && found;
      };
      std::string where;
      for (const std::string& hit : rule.hit_examples) {
        ++examples;
        if (!fires(hit, &where)) {
          problems.push_back({rule.file, rule.line, rule.id,
                              absl::StrCat("hit example gives no finding: \"", hit, "\""), false});
        } else if (matched.empty()) {
          matched = last_match;
        }
      }
      if (matched.empty() && !rule.literals.empty()) matched = rule.literals[0];
      // A suggestion is meant to be compliant: one that is flagged itself (block or review) is
      // replaced again by Rewrite, and masked if it keeps coming back.
      for (size_t i = 0; i < rule.suggestions.size(); ++i) {
        const std::string rendered = RenderSuggestion(rule.suggestions[i], matched);
        absl::StatusOr<std::vector<Finding>> flagged = scanner->Scan(rendered);
        if (!flagged.ok()) continue;
        for (const Finding& fd : *flagged) {
          if (fd.severity < Severity::kReview) continue;
          problems.push_back(
              {rule.file, rule.line, rule.id,
               absl::StrCat("suggestion ", i + 1, " \"", rendered, "\" gives a finding of rule ",
                            AV(fd.rule_id()), " \"", AV(fd.text),
                            "\" (Rewrite replaces it again, then masks it)"),
               true});
          break;
        }
      }
      for (const std::string& miss : rule.miss_examples) {
        ++examples;
        if (fires(miss, &where))
          problems.push_back({rule.file, rule.line, rule.id,
                              absl::StrCat("miss example gives a finding ", where, ": \"", miss,
                                           "\""),
                              false});
      }
      if (rule.hit_examples.empty() || rule.miss_examples.empty())
        problems.push_back({rule.file, rule.line, rule.id,
                            rule.hit_examples.empty() ? "no hit example" : "no miss example",
                            true});
    }
  }
  size_t errors = std::count_if(problems.begin(), problems.end(),
                                [](const Problem& p) { return !p.warning; });
  auto render = [](const Problem& p) {
    if (p.file.empty()) return p.message;
    return absl::StrCat(p.file, ":", p.line, ": rule ", p.rule, ": ", p.warning ? "warning: " : "",
                        p.message);
  };
  if (flags.json) {
    json list = json::array();
    for (const Problem& p : problems)
      list.push_back({{"file", p.file}, {"line", p.line}, {"rule", p.rule},
                      {"severity", p.warning ? "warning" : "error"}, {"message", render(p)}});
    std::cout << json{{"source", source},
                      {"rules", filter.ok() ? (*filter)->rules().size() : 0},
                      {"examples", examples},
                      {"errors", errors},
                      {"problems", list}}
                     .dump(2, ' ', false, json::error_handler_t::replace)
              << "\n";
  } else {
    for (const Problem& p : problems) std::cout << render(p) << "\n";
    std::cout << "lint: " << source << ": "
              << (filter.ok() ? absl::StrCat((*filter)->rules().size(), " rules, ", examples,
                                             " examples checked")
                              : std::string("rules do not load"))
              << "; " << errors << (errors == 1 ? " problem" : " problems") << "\n";
  }
  return errors > 0 ? kExitFindings : kExitOk;
}

}  // namespace scriptqa::cli

namespace scriptqa::cli {

int RunEval(const CommonFlags& flags, const EvalFlags& eval) {
  absl::StatusOr<ScanSetup> setup = MakeScanSetup(flags);
  if (!setup.ok()) return Fail("eval", setup.status());
  absl::StatusOr<Scanner> scanner = Scanner::Create(setup->filter);
  if (!scanner.ok()) return Fail("eval", scanner.status());
  EvalOptions options;
  options.scan = setup->options;
  absl::StatusOr<Severity> at = SeverityFlag("--flag-at", eval.flag_at);
  if (!at.ok()) return Fail("eval", at.status());
  options.flag_at = *at;
  std::vector<LabelledMessage> cases;
  for (const std::string& file : eval.files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream contents;
    contents << in.rdbuf();
    if (!in.good() && !in.eof()) return Fail("eval", absl::NotFoundError(absl::StrCat(file, ": cannot read")));
    absl::StatusOr<std::vector<LabelledMessage>> parsed = ParseLabelledJsonl(contents.str(), file);
    if (!parsed.ok()) return Fail("eval", parsed.status());
    cases.insert(cases.end(), std::make_move_iterator(parsed->begin()),
                 std::make_move_iterator(parsed->end()));
  }
  if (cases.empty()) return Fail("eval", absl::InvalidArgumentError("no labelled messages in the input"));
  absl::StatusOr<EvalReport> report = Evaluate(*scanner, cases, options);
  if (!report.ok()) return Fail("eval", report.status());
  // The report quotes the labelled texts: personal data in them is masked like every output.
  if (setup->mask) {
    for (LabelledMessage& m : cases) m.text = MaskPersonalData(m.text);
    for (EvalCase& c : report->problems)
      for (EvalFinding& f : c.findings) f.matched = MaskPersonalData(f.matched);
  }
  if (flags.json) {
    std::cout << report->ToJson(cases) << "\n";
  } else {
    std::cout << report->ToString(cases, eval.all ? 0 : 30);
  }
  return kExitOk;
}

}  // namespace scriptqa::cli

// JSON shapes shared by the gateway and its load generator (the same field names as the golden
// cases in tests/testdata/golden.jsonl).
#ifndef SCRIPTQA_EXAMPLES_GATEWAY_JSON_IO_H_
#define SCRIPTQA_EXAMPLES_GATEWAY_JSON_IO_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "scriptqa/scanner.h"

namespace gateway {

using nlohmann::json;

// {"rule", "category", "severity", "byte_start", "byte_end", "start", "end", "matched",
//  "suggestion", "reason"}
inline json FindingJson(const scriptqa::Finding& f) {
  return json{{"rule", std::string(f.rule_id())},
              {"category", std::string(f.category())},
              {"severity", std::string(scriptqa::SeverityName(f.severity))},
              {"byte_start", f.bytes.begin},
              {"byte_end", f.bytes.end},
              {"start", f.chars.begin},
              {"end", f.chars.end},
              {"matched", std::string(f.text)},
              {"suggestion", f.Suggestion()},
              {"reason", std::string(f.reason())}};
}

template <typename Findings>
json FindingsJson(const Findings& fs) {
  json a = json::array();
  for (const scriptqa::Finding& f : fs) a.push_back(FindingJson(f));
  return a;
}

// A compact, order-independent signature of findings for comparisons: "rule@begin-end:severity"
// sorted and joined.
inline std::string Signature(const json& findings) {
  std::vector<std::string> parts;
  for (const json& f : findings)
    parts.push_back(f.at("rule").get<std::string>() + "@" +
                    std::to_string(f.at("byte_start").get<size_t>()) + "-" +
                    std::to_string(f.at("byte_end").get<size_t>()) + ":" +
                    f.at("severity").get<std::string>());
  std::sort(parts.begin(), parts.end());
  std::string s;
  for (const std::string& p : parts) s += p + ";";
  return s;
}

// Per-shop profiles from JSON:
//   {"shop-a": {"enabled_categories": [...], "disabled": [...], "severity_overrides": {"id": "block"},
//               "allow_terms": [...], "deny_terms": [...], "deny_category": "shop",
//               "deny_severity": "review", "deny_reason": "..."}, ...}
inline absl::StatusOr<scriptqa::ProfileOptions> ProfileFromJson(const json& j) {
  scriptqa::ProfileOptions o;
  if (!j.is_object()) return absl::InvalidArgumentError("a profile must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "enabled_categories") {
      o.enabled_categories = value.get<std::vector<std::string>>();
    } else if (key == "disabled") {
      o.disabled = value.get<std::vector<std::string>>();
    } else if (key == "allow_terms") {
      o.allow_terms = value.get<std::vector<std::string>>();
    } else if (key == "deny_terms") {
      o.deny_terms = value.get<std::vector<std::string>>();
    } else if (key == "deny_category") {
      o.deny_category = value.get<std::string>();
    } else if (key == "deny_reason") {
      o.deny_reason = value.get<std::string>();
    } else if (key == "deny_severity") {
      if (!scriptqa::ParseSeverity(value.get<std::string>(), &o.deny_severity))
        return absl::InvalidArgumentError("deny_severity: advice, review or block");
    } else if (key == "severity_overrides") {
      for (const auto& [target, sev] : value.items()) {
        scriptqa::SeverityOverride so;
        so.target = target;
        if (!scriptqa::ParseSeverity(sev.get<std::string>(), &so.severity))
          return absl::InvalidArgumentError("severity_overrides: advice, review or block");
        o.severity_overrides.push_back(so);
      }
    } else {
      return absl::InvalidArgumentError("unknown profile key '" + key + "'");
    }
  }
  return o;
}

inline absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Messages from a JSON-lines transcript (role == "agent" only, field "text") or a text file (one
// per line, '#' lines skipped).
inline absl::StatusOr<std::vector<std::string>> LoadMessages(const std::string& path) {
  absl::StatusOr<std::string> all = ReadAll(path);
  if (!all.ok()) return all.status();
  std::vector<std::string> out;
  std::istringstream in(*all);
  std::string line;
  const bool jsonl = path.size() > 6 && path.substr(path.size() - 6) == ".jsonl";
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (jsonl) {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("role", "") == "agent" && j.contains("text") && j["text"].is_string())
        out.push_back(j["text"].get<std::string>());
    } else if (line[0] != '#') {
      out.push_back(line);
    }
  }
  if (out.empty()) return absl::InvalidArgumentError(path + ": no messages");
  return out;
}

}  // namespace gateway

#endif  // SCRIPTQA_EXAMPLES_GATEWAY_JSON_IO_H_

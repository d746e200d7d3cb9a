// JSON shapes shared by the gateway and its load generator (the same field names as the golden
// cases in tests/testdata/golden.jsonl).
#ifndef SCRIPTQA_EXAMPLES_GATEWAY_JSON_IO_H_
#define SCRIPTQA_EXAMPLES_GATEWAY_JSON_IO_H_

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "scriptqa/mask.h"
#include "scriptqa/scanner.h"

namespace gateway {

using nlohmann::json;

// {"rule", "category", "severity", "byte_start", "byte_end", "start", "end", "matched", "masked",
//  "suggestion", "reason"}. "matched" is the finding's text in the caller's own message;
// "masked" the same span of `masked_message` (the message with personal data masked,
// Scanner::Mask: same byte length, so the span holds), for anything shown to other people or
// stored.
inline json FindingJson(const scriptqa::Finding& f, std::string_view masked_message) {
  std::string masked;
  if (f.bytes.begin <= f.bytes.end && f.bytes.end <= masked_message.size())
    masked = std::string(masked_message.substr(f.bytes.begin, f.bytes.end - f.bytes.begin));
  else  // cannot happen (masking keeps offsets); never fall back to the clear text
    masked = std::string(f.bytes.end - f.bytes.begin, '*');
  return json{{"rule", std::string(f.rule_id())},
              {"category", std::string(f.category())},
              {"severity", std::string(scriptqa::SeverityName(f.severity))},
              {"byte_start", f.bytes.begin},
              {"byte_end", f.bytes.end},
              {"start", f.chars.begin},
              {"end", f.chars.end},
              {"matched", std::string(f.text)},
              {"masked", std::move(masked)},
              {"suggestion", f.Suggestion()},
              {"reason", std::string(f.reason())}};
}

// The first `limit` findings.
template <typename Findings>
json FindingsJson(const Findings& fs, std::string_view masked_message, size_t limit = SIZE_MAX) {
  json a = json::array();
  for (const scriptqa::Finding& f : fs) {
    if (a.size() >= limit) break;
    a.push_back(FindingJson(f, masked_message));
  }
  return a;
}

// `text` with personal data masked by `scanner` (its privacy rules and every digit run or e-mail
// that could be personal data); if the scanner fails, by the digit and e-mail rules alone.
inline std::string MaskedMessage(scriptqa::Scanner& scanner, std::string_view text) {
  absl::StatusOr<std::string> m = scanner.Mask(text);
  return m.ok() ? *std::move(m) : scriptqa::MaskPersonalData(text);
}

// Request bodies. Every problem is an InvalidArgument naming the field, which the gateway
// answers with 400.

// `body` as a JSON object holding no field outside `allowed` (a misspelt option is an error, not
// silently ignored). An empty body is {} when `empty_ok`.
inline absl::StatusOr<json> ParseObject(std::string_view body, std::initializer_list<std::string_view> allowed,
                                        bool empty_ok = false) {
  if (body.empty() && empty_ok) return json::object();
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON (in UTF-8)");
  if (!j.is_object()) return absl::InvalidArgumentError(std::string("expected a JSON object, got ") + j.type_name());
  for (const auto& item : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end()) continue;
    std::string names;
    for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    return absl::InvalidArgumentError("unknown field '" + item.key() + "' (expected " + names + ")");
  }
  return j;
}

// A string field; `required` or left unchanged when absent.
inline absl::Status GetString(const json& j, const char* key, std::string* out, bool required = false) {
  auto it = j.find(key);
  if (it == j.end())
    return required ? absl::InvalidArgumentError(std::string(key) + ": missing (a string)") : absl::OkStatus();
  if (!it->is_string())
    return absl::InvalidArgumentError(std::string(key) + ": expected a string, got " + it->type_name());
  *out = it->get<std::string>();
  return absl::OkStatus();
}

inline absl::Status GetBool(const json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_boolean())
    return absl::InvalidArgumentError(std::string(key) + ": expected true or false, got " + it->type_name());
  *out = it->get<bool>();
  return absl::OkStatus();
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

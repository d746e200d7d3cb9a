// Profiles as JSON (scriptqa/scanner.h, ProfileOptionsFromJson): the format shared by the CLI's
// --profile and the chat gateway's --profiles and POST /profile.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "scriptqa/scanner.h"

namespace scriptqa {
namespace {

using json = nlohmann::ordered_json;

const std::vector<std::string>& Keys() {
  static const auto* keys = new std::vector<std::string>{
      "enabled_categories", "disabled",      "category_severity", "rule_severity", "allow_terms",
      "deny_terms",         "deny_category", "deny_severity",     "deny_reason"};
  return *keys;
}

bool IsProfileKey(const std::string& key) {
  for (const std::string& k : Keys())
    if (k == key) return true;
  return false;
}

absl::Status Strings(const json& v, const std::string& key, std::vector<std::string>* out) {
  if (!v.is_array())
    return absl::InvalidArgumentError(absl::StrCat(key, ": expected an array of strings, got ", v.type_name()));
  out->clear();
  for (const json& e : v) {
    if (!e.is_string())
      return absl::InvalidArgumentError(absl::StrCat(key, ": expected an array of strings, found a ", e.type_name()));
    out->push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status SeverityValue(const json& v, const std::string& key, Severity* out) {
  if (!v.is_string() || !ParseSeverity(v.get<std::string>(), out))
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": expected \"advice\", \"review\" or \"block\", got ", v.dump()));
  return absl::OkStatus();
}

absl::Status Text(const json& v, const std::string& key, std::string* out) {
  if (!v.is_string())
    return absl::InvalidArgumentError(absl::StrCat(key, ": expected a string, got ", v.type_name()));
  *out = v.get<std::string>();
  return absl::OkStatus();
}

absl::StatusOr<ProfileOptions> FromObject(const json& j, const std::string& where) {
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat(where, "a profile must be a JSON object, got ", j.type_name()));
  ProfileOptions o;
  // Rule overrides after category overrides: Profile::Create applies them in two passes anyway.
  std::vector<SeverityOverride> rules;
  for (const auto& [key, value] : j.items()) {
    const std::string k = where + key;
    absl::Status st;
    if (key == "enabled_categories") {
      st = Strings(value, k, &o.enabled_categories);
    } else if (key == "disabled") {
      st = Strings(value, k, &o.disabled);
    } else if (key == "allow_terms") {
      st = Strings(value, k, &o.allow_terms);
    } else if (key == "deny_terms") {
      st = Strings(value, k, &o.deny_terms);
    } else if (key == "deny_category") {
      st = Text(value, k, &o.deny_category);
    } else if (key == "deny_reason") {
      st = Text(value, k, &o.deny_reason);
    } else if (key == "deny_severity") {
      st = SeverityValue(value, k, &o.deny_severity);
    } else if (key == "category_severity" || key == "rule_severity") {
      const bool rule = key == "rule_severity";
      if (!value.is_object())
        return absl::InvalidArgumentError(absl::StrCat(
            k, ": expected an object {\"", rule ? "rule id" : "category id",
            "\": \"advice|review|block\"}, got ", value.type_name()));
      for (const auto& [target, sev] : value.items()) {
        const bool dotted = target.find('.') != std::string::npos;
        if (rule && !dotted)
          return absl::InvalidArgumentError(absl::StrCat(
              k, ": \"", target, "\" is not a rule id (rule ids are category.name); "
              "a category's severity goes in category_severity"));
        if (!rule && dotted)
          return absl::InvalidArgumentError(absl::StrCat(
              k, ": \"", target, "\" is a rule id, not a category id; put it in rule_severity"));
        SeverityOverride so;
        so.target = target;
        st = SeverityValue(sev, absl::StrCat(k, ".", target), &so.severity);
        if (!st.ok()) break;
        (rule ? rules : o.severity_overrides).push_back(std::move(so));
      }
    } else if (key == "severity_overrides") {
      return absl::InvalidArgumentError(absl::StrCat(
          k, ": not a profile key: a category and a severity can have the same name (\"review\"), "
          "so overrides name their target's kind: \"category_severity\": {\"review\": \"block\"} "
          "or \"rule_severity\": {\"ad_law.best\": \"advice\"}"));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown profile key \"", k, "\" (known: ",
                                                     absl::StrJoin(Keys(), ", "), ")"));
    }
    if (!st.ok()) return st;
  }
  o.severity_overrides.insert(o.severity_overrides.end(), rules.begin(), rules.end());
  return o;
}

absl::StatusOr<json> Parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat("expected a JSON object, got ", j.type_name()));
  return j;
}

// Named profiles: an object none of whose keys is a profile key and whose values are objects.
bool Named(const json& j) {
  if (j.empty()) return false;
  for (const auto& [key, value] : j.items())
    if (IsProfileKey(key) || key == "severity_overrides" || !value.is_object()) return false;
  return true;
}

std::string Names(const json& j) {
  std::vector<std::string> names;
  for (const auto& item : j.items()) names.push_back(item.key());
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::StatusOr<ProfileOptions> ProfileOptionsFromJson(std::string_view text) {
  absl::StatusOr<json> j = Parse(text);
  if (!j.ok()) return j.status();
  return FromObject(*j, "");
}

absl::StatusOr<std::vector<std::pair<std::string, ProfileOptions>>> ProfilesFromJson(
    std::string_view text) {
  absl::StatusOr<json> j = Parse(text);
  if (!j.ok()) return j.status();
  std::vector<std::pair<std::string, ProfileOptions>> out;
  for (const auto& [name, value] : j->items()) {
    if (!value.is_object())
      return absl::InvalidArgumentError(absl::StrCat(
          "profile \"", name, "\": expected an object of profile options, got ", value.type_name()));
    absl::StatusOr<ProfileOptions> o = FromObject(value, absl::StrCat(name, "."));
    if (!o.ok()) return o.status();
    out.emplace_back(name, *std::move(o));
  }
  return out;
}

absl::StatusOr<ProfileOptions> ProfileOptionsFromJson(std::string_view text, std::string_view name) {
  absl::StatusOr<json> j = Parse(text);
  if (!j.ok()) return j.status();
  const bool named = Named(*j);
  if (name.empty()) {
    if (named)
      return absl::InvalidArgumentError(
          absl::StrCat("holds named profiles (", Names(*j), "): name the one to use"));
    return FromObject(*j, "");
  }
  if (!named)
    return absl::InvalidArgumentError(absl::StrCat(
        "holds a single profile, not named ones: there is no profile \"", std::string(name),
        "\" to pick"));
  auto it = j->find(std::string(name));
  if (it == j->end())
    return absl::NotFoundError(
        absl::StrCat("no profile \"", std::string(name), "\" (profiles: ", Names(*j), ")"));
  return FromObject(*it, absl::StrCat(std::string(name), "."));
}

}  // namespace scriptqa

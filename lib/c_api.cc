// The C API (scriptqa/scriptqa.h) over FilterHandle, LocalScanner and StreamScanner.
//
// Every entry point runs inside Guard(): exceptions (only std::bad_alloc can realistically occur)
// become error codes, never cross into C. Each object carries a busy flag so that a scanner or
// stream used from two threads at once fails with FAILED_PRECONDITION instead of racing.
#include "scriptqa/scriptqa.h"

#include <hs.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "busy_guard.h"
#include "scriptqa/reload.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

#ifndef SCRIPTQA_VERSION_STRING
#define SCRIPTQA_VERSION_STRING "0.1.0"
#endif

struct scriptqa_error {
  scriptqa_code code;
  std::string message;
};

struct scriptqa_rules {
  std::shared_ptr<scriptqa::FilterHandle> handle;
  // The bounds reloads from dictionaries compile with. A mutex, not the handle's snapshot: they
  // are read once per reload and written by scriptqa_rules_set_compile_limits, never on a scan.
  std::mutex limits_mu;
  scriptqa::CompileLimits limits;  // guarded by limits_mu

  scriptqa::FilterOptions ReloadOptions() {
    scriptqa::FilterOptions options;
    std::lock_guard<std::mutex> lock(limits_mu);
    options.limits = limits;
    return options;
  }
};

namespace {

using scriptqa::Finding;

// C views of findings, with the strings that need copies (suggestion, matched text).
struct FindingStore {
  std::vector<scriptqa_finding> items;
  std::vector<std::string> strings;

  void Fill(absl::Span<const Finding> fs) {
    items.clear();
    strings.clear();
    strings.reserve(2 * fs.size());  // no reallocation below: the c_str() pointers stay valid
    for (const Finding& f : fs) {
      strings.push_back(f.Suggestion());
      strings.emplace_back(f.text);
    }
    for (size_t i = 0; i < fs.size(); ++i) {
      const Finding& f = fs[i];
      scriptqa_finding c;
      c.rule_id = f.rule->id.c_str();
      c.category = f.rule->category.c_str();
      c.reason = f.rule->reason.c_str();
      c.suggestion = strings[2 * i].c_str();
      c.text = strings[2 * i + 1].c_str();
      c.severity = static_cast<scriptqa_severity>(f.severity);
      c.byte_begin = f.bytes.begin;
      c.byte_end = f.bytes.end;
      c.char_begin = f.chars.begin;
      c.char_end = f.chars.end;
      items.push_back(c);
    }
  }
};

absl::Status BusyStatus() {
  return absl::FailedPreconditionError(
      "object already in use by another call (use one scanner per thread; one call at a time "
      "per stream)");
}

}  // namespace

struct scriptqa_scanner {
  std::optional<scriptqa::LocalScanner> local;
  FindingStore store;
  std::string rewritten;
  // scriptqa_explain: the traces, their strings (decision and detail per trace) and the text.
  std::vector<scriptqa_trace> traces;
  std::vector<std::string> trace_strings;
  std::string normalized;
  std::atomic<bool> busy{false};
};

struct scriptqa_stream {
  std::optional<scriptqa::LocalScanner> local;  // picks the rules current at each new message
  std::optional<scriptqa::StreamScanner> stream;
  scriptqa::ScanOptions scan;
  std::string profile;
  size_t min_scan_bytes = 48;
  FindingStore fresh, all;
  std::atomic<bool> busy{false};
};

namespace {

scriptqa_code ToCode(absl::StatusCode c) {
  switch (c) {
    case absl::StatusCode::kOk: return SCRIPTQA_OK;
    case absl::StatusCode::kInvalidArgument: return SCRIPTQA_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound: return SCRIPTQA_NOT_FOUND;
    case absl::StatusCode::kPermissionDenied: return SCRIPTQA_PERMISSION_DENIED;
    case absl::StatusCode::kResourceExhausted: return SCRIPTQA_RESOURCE_EXHAUSTED;
    case absl::StatusCode::kFailedPrecondition: return SCRIPTQA_FAILED_PRECONDITION;
    case absl::StatusCode::kInternal: return SCRIPTQA_INTERNAL;
    case absl::StatusCode::kDataLoss: return SCRIPTQA_DATA_LOSS;
    default: return SCRIPTQA_UNKNOWN;
  }
}

scriptqa_code Fail(scriptqa_error** err, scriptqa_code code, absl::string_view message) {
  if (err) {
    // nothrow: the error path must not throw either.
    scriptqa_error* e = new (std::nothrow) scriptqa_error();
    if (e) {
      e->code = code;
      try {
        e->message.assign(message.data(), message.size());
      } catch (...) {
      }
    }
    *err = e;
  }
  return code;
}

template <typename F>
scriptqa_code Guard(scriptqa_error** err, F&& body) {
  try {
    absl::Status st = body();
    if (st.ok()) return SCRIPTQA_OK;
    return Fail(err, ToCode(st.code()), st.message());
  } catch (const std::bad_alloc&) {
    return Fail(err, SCRIPTQA_RESOURCE_EXHAUSTED, "out of memory");
  } catch (...) {
    return Fail(err, SCRIPTQA_INTERNAL, "unexpected exception inside scriptqa");
  }
}

absl::Status Null(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat(what, " is NULL"));
}

absl::StatusOr<scriptqa::ScanOptions> ToOptions(const scriptqa_scan_options* o, std::string* profile) {
  scriptqa::ScanOptions s;
  profile->clear();
  if (!o) return s;
  if (o->min_severity < SCRIPTQA_ADVICE || o->min_severity > SCRIPTQA_BLOCK)
    return absl::InvalidArgumentError("min_severity out of range");
  s.min_severity = static_cast<scriptqa::Severity>(o->min_severity);
  s.overlap = o->overlap_all ? scriptqa::Overlap::kAll : scriptqa::Overlap::kLongestPerCategory;
  s.invalid_utf8 = o->reject_invalid_utf8 ? scriptqa::InvalidUtf8::kReject : scriptqa::InvalidUtf8::kRepair;
  if (o->profile) *profile = o->profile;
  return s;
}

std::vector<std::string> Strings(const char* const* a, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    if (a && a[i]) out.emplace_back(a[i]);
  return out;
}

// NULL: the defaults. Errors past a bound name the field of scriptqa_compile_limits to raise.
scriptqa::CompileLimits ToLimits(const scriptqa_compile_limits* l) {
  scriptqa::CompileLimits limits;
  limits.raise_hint = "raise it with scriptqa_compile_limits.{name} (0 lifts it)";
  if (!l) return limits;
  limits.max_regex_bytes = l->max_regex_bytes;
  limits.max_regexes = l->max_regexes;
  limits.max_total_regex_bytes = l->max_total_regex_bytes;
  limits.max_literals = l->max_literals;
  return limits;
}

absl::Status NewRules(absl::StatusOr<std::shared_ptr<const scriptqa::Filter>> filter,
                      scriptqa_rules** out,
                      const scriptqa::CompileLimits& limits = ToLimits(nullptr)) {
  if (!filter.ok()) return filter.status();
  absl::StatusOr<std::shared_ptr<scriptqa::FilterHandle>> handle =
      scriptqa::FilterHandle::Create(*std::move(filter));
  if (!handle.ok()) return handle.status();
  auto* r = new scriptqa_rules();
  r->handle = *std::move(handle);
  r->limits = limits;
  *out = r;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const scriptqa::Filter>> Compile(
    absl::Span<const scriptqa::DictionarySource> sources, const scriptqa::CompileLimits& limits) {
  scriptqa::FilterOptions options;
  options.limits = limits;
  return scriptqa::Filter::FromDictionaries(sources, options);
}

scriptqa::DictionarySource TextSource(const char* name, const char* text, size_t length) {
  return scriptqa::DictionarySource::Text(name ? name : "<text>",
                                          std::string(text ? text : "", length));
}

absl::Status Generation(absl::StatusOr<uint64_t> gen, uint64_t* generation) {
  if (!gen.ok()) return gen.status();
  if (generation) *generation = *gen;
  return absl::OkStatus();
}

std::vector<scriptqa::DictionarySource> FileSources(const char* const* paths, size_t count) {
  std::vector<scriptqa::DictionarySource> sources;
  for (size_t i = 0; i < count; ++i)
    if (paths && paths[i]) sources.push_back(scriptqa::DictionarySource::File(paths[i]));
  return sources;
}

void FillUpdate(const scriptqa::StreamUpdate& u, FindingStore* fresh, scriptqa_stream_update* out) {
  fresh->Fill(u.new_findings);
  if (!out) return;
  out->releasable = u.releasable;
  out->new_findings = fresh->items.data();
  out->new_count = fresh->items.size();
  out->finished = u.finished ? 1 : 0;
}

}  // namespace

extern "C" {

const char* scriptqa_version(void) {
  static const std::string* v = [] {
    try {
      return new std::string(absl::StrCat(SCRIPTQA_VERSION_STRING, " (engine ", hs_version(), ")"));
    } catch (...) {
      return static_cast<std::string*>(nullptr);
    }
  }();
  return v ? v->c_str() : SCRIPTQA_VERSION_STRING;
}

scriptqa_code scriptqa_error_code(const scriptqa_error* err) { return err ? err->code : SCRIPTQA_OK; }
const char* scriptqa_error_message(const scriptqa_error* err) { return err ? err->message.c_str() : ""; }
void scriptqa_error_free(scriptqa_error* err) { delete err; }

// ---- rules ----

scriptqa_code scriptqa_rules_load_default(scriptqa_rules** out, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!out) return Null("out");
    return NewRules(scriptqa::Filter::Default(), out);
  });
}

void scriptqa_compile_limits_init(scriptqa_compile_limits* limits) {
  if (!limits) return;
  const scriptqa::CompileLimits defaults;
  limits->max_regex_bytes = defaults.max_regex_bytes;
  limits->max_regexes = defaults.max_regexes;
  limits->max_total_regex_bytes = defaults.max_total_regex_bytes;
  limits->max_literals = defaults.max_literals;
}

scriptqa_code scriptqa_rules_load_files_limited(const char* const* paths, size_t count,
                                                const scriptqa_compile_limits* limits,
                                                scriptqa_rules** out, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!out) return Null("out");
    if (!paths && count > 0) return Null("paths");
    const scriptqa::CompileLimits l = ToLimits(limits);
    return NewRules(Compile(FileSources(paths, count), l), out, l);
  });
}

scriptqa_code scriptqa_rules_load_files(const char* const* paths, size_t count,
                                        scriptqa_rules** out, scriptqa_error** err) {
  return scriptqa_rules_load_files_limited(paths, count, nullptr, out, err);
}

scriptqa_code scriptqa_rules_load_text_limited(const char* name, const char* text, size_t length,
                                               const scriptqa_compile_limits* limits,
                                               scriptqa_rules** out, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!out) return Null("out");
    if (!text && length > 0) return Null("text");
    const scriptqa::CompileLimits l = ToLimits(limits);
    return NewRules(Compile({TextSource(name, text, length)}, l), out, l);
  });
}

scriptqa_code scriptqa_rules_load_text(const char* name, const char* text, size_t length,
                                       scriptqa_rules** out, scriptqa_error** err) {
  return scriptqa_rules_load_text_limited(name, text, length, nullptr, out, err);
}

scriptqa_code scriptqa_rules_load_database(const char* path, scriptqa_rules** out,
                                           scriptqa_error** err) {
  return Guard(err, [&] {
    if (!out) return Null("out");
    if (!path) return Null("path");
    return NewRules(scriptqa::Filter::LoadFile(path), out);
  });
}

scriptqa_code scriptqa_rules_save_database(const scriptqa_rules* rules, const char* path,
                                           scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!path) return Null("path");
    return rules->handle->Current()->filter()->SaveFile(path);
  });
}

void scriptqa_rules_free(scriptqa_rules* rules) { delete rules; }

scriptqa_code scriptqa_rules_reload_database(scriptqa_rules* rules, const char* path,
                                             uint64_t* generation, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!path) return Null("path");
    return Generation(rules->handle->ReloadFromFile(path), generation);
  });
}

scriptqa_code scriptqa_rules_reload_files(scriptqa_rules* rules, const char* const* paths,
                                          size_t count, uint64_t* generation, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!paths && count > 0) return Null("paths");
    return Generation(
        rules->handle->ReloadFromDictionaries(FileSources(paths, count), rules->ReloadOptions()),
        generation);
  });
}

scriptqa_code scriptqa_rules_reload_text(scriptqa_rules* rules, const char* name, const char* text,
                                         size_t length, uint64_t* generation, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!text && length > 0) return Null("text");
    return Generation(rules->handle->ReloadFromDictionaries({TextSource(name, text, length)},
                                                            rules->ReloadOptions()),
                      generation);
  });
}

scriptqa_code scriptqa_rules_set_compile_limits(scriptqa_rules* rules,
                                                const scriptqa_compile_limits* limits,
                                                scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    const scriptqa::CompileLimits l = ToLimits(limits);
    std::lock_guard<std::mutex> lock(rules->limits_mu);
    rules->limits = l;
    return absl::OkStatus();
  });
}

uint64_t scriptqa_rules_generation(const scriptqa_rules* rules) {
  return rules ? rules->handle->generation() : 0;
}

size_t scriptqa_rules_count(const scriptqa_rules* rules) {
  return rules ? rules->handle->Current()->filter()->rules().size() : 0;
}

scriptqa_code scriptqa_rules_set_profile(scriptqa_rules* rules, const char* name,
                                         const scriptqa_profile_options* o, uint64_t* generation,
                                         scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!name) return Null("name");
    scriptqa::ProfileOptions p;
    if (o) {
      p.enabled_categories = Strings(o->enabled_categories, o->enabled_categories_count);
      p.disabled = Strings(o->disabled, o->disabled_count);
      for (size_t i = 0; i < o->severity_count; ++i) {
        if (!o->severity_targets || !o->severity_values || !o->severity_targets[i])
          return Null("severity_targets / severity_values");
        if (o->severity_values[i] < SCRIPTQA_ADVICE || o->severity_values[i] > SCRIPTQA_BLOCK)
          return absl::InvalidArgumentError("severity value out of range");
        p.severity_overrides.push_back(
            {o->severity_targets[i], static_cast<scriptqa::Severity>(o->severity_values[i])});
      }
      p.allow_terms = Strings(o->allow_terms, o->allow_terms_count);
      p.deny_terms = Strings(o->deny_terms, o->deny_terms_count);
      if (o->deny_category) p.deny_category = o->deny_category;
      if (o->deny_severity_set) {
        if (o->deny_severity < SCRIPTQA_ADVICE || o->deny_severity > SCRIPTQA_BLOCK)
          return absl::InvalidArgumentError("deny_severity out of range");
        p.deny_severity = static_cast<scriptqa::Severity>(o->deny_severity);
      }
      if (o->deny_reason) p.deny_reason = o->deny_reason;
    }
    return Generation(rules->handle->SetProfile(name, std::move(p)), generation);
  });
}

scriptqa_code scriptqa_rules_remove_profile(scriptqa_rules* rules, const char* name,
                                            uint64_t* generation, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!name) return Null("name");
    return Generation(rules->handle->RemoveProfile(name), generation);
  });
}

// ---- scanner ----

scriptqa_code scriptqa_scanner_new(scriptqa_rules* rules, scriptqa_scanner** out,
                                   scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!out) return Null("out");
    absl::StatusOr<scriptqa::LocalScanner> local = scriptqa::LocalScanner::Create(rules->handle);
    if (!local.ok()) return local.status();
    auto* s = new scriptqa_scanner();
    s->local.emplace(*std::move(local));
    *out = s;
    return absl::OkStatus();
  });
}

void scriptqa_scanner_free(scriptqa_scanner* scanner) { delete scanner; }

scriptqa_code scriptqa_scan(scriptqa_scanner* scanner, const char* text, size_t length,
                            const scriptqa_scan_options* options,
                            const scriptqa_finding** findings, size_t* count,
                            scriptqa_error** err) {
  return Guard(err, [&] {
    if (!scanner) return Null("scanner");
    if (!text && length > 0) return Null("text");
    if (!findings || !count) return Null("findings / count");
    scriptqa::internal::BusyGuard busy(&scanner->busy);
    if (!busy.acquired()) return BusyStatus();
    std::string profile;
    absl::StatusOr<scriptqa::ScanOptions> o = ToOptions(options, &profile);
    if (!o.ok()) return o.status();
    absl::StatusOr<std::vector<Finding>> fs =
        scanner->local->Scan(std::string_view(text ? text : "", length), *o, profile);
    if (!fs.ok()) return fs.status();
    scanner->store.Fill(*fs);
    *findings = scanner->store.items.data();
    *count = scanner->store.items.size();
    return absl::OkStatus();
  });
}

scriptqa_code scriptqa_rewrite(scriptqa_scanner* scanner, const char* text, size_t length,
                               const scriptqa_scan_options* options, const char** out,
                               size_t* out_length, int* clean, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!scanner) return Null("scanner");
    if (!text && length > 0) return Null("text");
    if (!out || !out_length) return Null("out / out_length");
    scriptqa::internal::BusyGuard busy(&scanner->busy);
    if (!busy.acquired()) return BusyStatus();
    std::string profile;
    absl::StatusOr<scriptqa::ScanOptions> o = ToOptions(options, &profile);
    if (!o.ok()) return o.status();
    absl::StatusOr<scriptqa::Rewritten> r =
        scanner->local->Rewrite(std::string_view(text ? text : "", length), *o, profile);
    if (!r.ok()) return r.status();
    scanner->rewritten = std::move(r->text);
    *out = scanner->rewritten.c_str();
    *out_length = scanner->rewritten.size();
    if (clean) *clean = r->clean ? 1 : 0;
    return absl::OkStatus();
  });
}

scriptqa_code scriptqa_explain(scriptqa_scanner* scanner, const char* text, size_t length,
                               const scriptqa_scan_options* options,
                               const scriptqa_trace** traces, size_t* trace_count,
                               const scriptqa_finding** findings, size_t* count,
                               const char** normalized, size_t* normalized_length,
                               scriptqa_error** err) {
  return Guard(err, [&] {
    if (!scanner) return Null("scanner");
    if (!text && length > 0) return Null("text");
    if (!traces || !trace_count || !findings || !count)
      return Null("traces / trace_count / findings / count");
    scriptqa::internal::BusyGuard busy(&scanner->busy);
    if (!busy.acquired()) return BusyStatus();
    std::string profile;
    absl::StatusOr<scriptqa::ScanOptions> o = ToOptions(options, &profile);
    if (!o.ok()) return o.status();
    absl::StatusOr<scriptqa::Explanation> e =
        scanner->local->Explain(std::string_view(text ? text : "", length), *o, profile);
    if (!e.ok()) return e.status();
    scanner->store.Fill(e->findings);
    scanner->normalized = std::move(e->normalized);
    std::vector<std::string>& strings = scanner->trace_strings;
    strings.clear();
    strings.reserve(2 * e->traces.size());  // no reallocation below: c_str() pointers stay valid
    scanner->traces.clear();
    for (const scriptqa::Trace& t : e->traces) {
      strings.emplace_back(scriptqa::DecisionName(t.decision));
      strings.push_back(t.detail);
      scriptqa_trace c;
      c.rule_id = t.rule->id.c_str();
      c.category = t.rule->category.c_str();
      c.decision = strings[strings.size() - 2].c_str();
      c.detail = strings.back().c_str();
      c.byte_begin = t.bytes.begin;
      c.byte_end = t.bytes.end;
      c.char_begin = t.chars.begin;
      c.char_end = t.chars.end;
      scanner->traces.push_back(c);
    }
    *traces = scanner->traces.data();
    *trace_count = scanner->traces.size();
    *findings = scanner->store.items.data();
    *count = scanner->store.items.size();
    if (normalized) *normalized = scanner->normalized.c_str();
    if (normalized_length) *normalized_length = scanner->normalized.size();
    return absl::OkStatus();
  });
}

// ---- stream ----

namespace {

// Starts a message on the rules current now.
absl::Status StartMessage(scriptqa_stream* s) {
  scriptqa::StreamOptions so;
  so.scan = s->scan;
  so.min_scan_bytes = s->min_scan_bytes;
  s->stream.reset();  // release the previous message's rules first
  absl::StatusOr<scriptqa::StreamScanner> st = s->local->NewStream(so, s->profile);
  if (!st.ok()) return st.status();
  s->stream.emplace(*std::move(st));
  s->fresh.Fill({});
  s->all.Fill({});
  return absl::OkStatus();
}

}  // namespace

scriptqa_code scriptqa_stream_new(scriptqa_rules* rules, const scriptqa_scan_options* options,
                                  size_t min_scan_bytes, scriptqa_stream** out,
                                  scriptqa_error** err) {
  return Guard(err, [&] {
    if (!rules) return Null("rules");
    if (!out) return Null("out");
    auto s = std::make_unique<scriptqa_stream>();
    absl::StatusOr<scriptqa::ScanOptions> o = ToOptions(options, &s->profile);
    if (!o.ok()) return o.status();
    s->scan = *o;
    s->min_scan_bytes = min_scan_bytes;
    absl::StatusOr<scriptqa::LocalScanner> local = scriptqa::LocalScanner::Create(rules->handle);
    if (!local.ok()) return local.status();
    s->local.emplace(*std::move(local));
    absl::Status st = StartMessage(s.get());
    if (!st.ok()) return st;
    *out = s.release();
    return absl::OkStatus();
  });
}

void scriptqa_stream_free(scriptqa_stream* stream) { delete stream; }

scriptqa_code scriptqa_stream_write(scriptqa_stream* stream, const char* chunk, size_t length,
                                    scriptqa_stream_update* update, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!stream) return Null("stream");
    if (!chunk && length > 0) return Null("chunk");
    scriptqa::internal::BusyGuard busy(&stream->busy);
    if (!busy.acquired()) return BusyStatus();
    absl::StatusOr<scriptqa::StreamUpdate> u =
        stream->stream->Write(std::string_view(chunk ? chunk : "", length));
    if (!u.ok()) return u.status();
    FillUpdate(*u, &stream->fresh, update);
    return absl::OkStatus();
  });
}

scriptqa_code scriptqa_stream_finish(scriptqa_stream* stream, scriptqa_stream_update* update,
                                     scriptqa_error** err) {
  return Guard(err, [&] {
    if (!stream) return Null("stream");
    scriptqa::internal::BusyGuard busy(&stream->busy);
    if (!busy.acquired()) return BusyStatus();
    absl::StatusOr<scriptqa::StreamUpdate> u = stream->stream->Finish();
    if (!u.ok()) return u.status();
    FillUpdate(*u, &stream->fresh, update);
    return absl::OkStatus();
  });
}

scriptqa_code scriptqa_stream_findings(scriptqa_stream* stream, const scriptqa_finding** findings,
                                       size_t* count, scriptqa_error** err) {
  return Guard(err, [&] {
    if (!stream) return Null("stream");
    if (!findings || !count) return Null("findings / count");
    scriptqa::internal::BusyGuard busy(&stream->busy);
    if (!busy.acquired()) return BusyStatus();
    stream->all.Fill(stream->stream->findings());
    *findings = stream->all.items.data();
    *count = stream->all.items.size();
    return absl::OkStatus();
  });
}

const char* scriptqa_stream_text(const scriptqa_stream* stream, size_t* length) {
  if (!stream || !stream->stream) {
    if (length) *length = 0;
    return "";
  }
  std::string_view t = stream->stream->text();
  if (length) *length = t.size();
  return t.data();
}

scriptqa_code scriptqa_stream_reset(scriptqa_stream* stream, const scriptqa_scan_options* options,
                                    scriptqa_error** err) {
  return Guard(err, [&] {
    if (!stream) return Null("stream");
    scriptqa::internal::BusyGuard busy(&stream->busy);
    if (!busy.acquired()) return BusyStatus();
    if (options) {
      std::string profile;
      absl::StatusOr<scriptqa::ScanOptions> o = ToOptions(options, &profile);
      if (!o.ok()) return o.status();
      stream->scan = *o;
      stream->profile = std::move(profile);
    }
    // Same rules and options: reuse the stream's buffers; otherwise start on the current rules.
    const auto snap = stream->local->snapshot();  // a copy: Refresh() replaces it
    absl::Status st = stream->local->Refresh();
    if (!st.ok()) return st;
    if (!options && stream->local->snapshot() == snap) {
      stream->stream->Reset();
      stream->fresh.Fill({});
      stream->all.Fill({});
      return absl::OkStatus();
    }
    return StartMessage(stream);
  });
}

}  // extern "C"

// scriptqa._scriptqa — the private extension module under the `scriptqa` Python package.
//
// Thin shims over the C++ API (scriptqa/filter.h, scriptqa/scanner.h). The Pythonic surface —
// argument parsing, docstrings, error classes — lives in scriptqa/*.py; this file only does what
// must be native to be fast:
//   * Text never goes through an intermediate `bytes`: a `str` is read in place (ASCII strings
//     are already UTF-8) or transcoded into a per-scanner buffer with the GIL released. A lone
//     surrogate cannot be UTF-8: strict mode raises EncodeError(index), replace mode writes U+FFFD
//     (one code point for one code point, so offsets still index the caller's str).
//   * The GIL is released for scanning (single texts from kReleaseGilFrom code units on), compiling
//     and loading.
//   * Each Python thread gets its own C++ Scanner (they are not thread-safe), kept in a per-filter
//     table and found through a small thread_local cache; scan_many() runs its own worker threads,
//     each with its own Scanner from a per-filter pool. The tables are only touched with the GIL
//     held, which is what serialises them.
//   * Findings are the package's `Finding` NamedTuple, allocated directly as a tuple subclass
//     (no Python-level __new__), with the per-rule strings interned once per filter.
//   * Each finding carries its masked form (scriptqa/mask.h), cut from the masked message while
//     the message's UTF-8 is at hand (no GIL); only a message with findings is masked.
//
// Offsets: Finding.chars from the core counts code points of the original text (each maximal
// invalid UTF-8 subsequence counting one), which for a `str` argument is exactly the str index.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pybind11/pybind11.h>
#include <structmember.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scriptqa/conversation.h"
#include "scriptqa/evaluate.h"
#include "scriptqa/filter.h"
#include "scriptqa/mask.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"
#include "scriptqa/types.h"

namespace scriptqa_python {

namespace py = pybind11;
namespace sq = scriptqa;

// ---- types registered by the Python layer ------------------------------------------------------

constexpr Py_ssize_t kFindingFields = 11;

struct Registry {
  PyTypeObject* finding = nullptr;  // scriptqa.Finding, a NamedTuple (tuple subclass)
  PyObject* severity[3] = {nullptr, nullptr, nullptr};  // scriptqa.Severity members
  PyObject* translate = nullptr;  // scan error (StatusError/EncodeError) -> scriptqa.Error
};
Registry g_types;

PyObject* g_status_error = nullptr;  // StatusError(code: int, message: str)
PyObject* g_encode_error = nullptr;  // EncodeError(message: str, index: int, position: int)

[[noreturn]] void ThrowStatus(const absl::Status& st) {
  PyObject* args = Py_BuildValue("(is#)", static_cast<int>(st.code()), st.message().data(),
                                 static_cast<Py_ssize_t>(st.message().size()));
  if (args) {
    PyErr_SetObject(g_status_error, args);
    Py_DECREF(args);
  }
  throw py::error_already_set();
}

// `index`: which input of a batch (-1 for a single text); `position`: the str index.
[[noreturn]] void ThrowEncode(Py_ssize_t index, Py_ssize_t position) {
  std::string msg = "text contains a lone surrogate at index " + std::to_string(position) +
                    " and cannot be encoded as UTF-8 (pass errors=\"replace\" to scan it with the "
                    "surrogate read as '?')";
  PyObject* args = Py_BuildValue("(snn)", msg.c_str(), index, position);
  if (args) {
    PyErr_SetObject(g_encode_error, args);
    Py_DECREF(args);
  }
  throw py::error_already_set();
}

void RequireRegistered() {
  if (!g_types.finding) throw py::type_error("scriptqa._scriptqa: the package did not register its types");
}

class NoGil {
 public:
  NoGil() : state_(PyEval_SaveThread()) {}
  ~NoGil() { PyEval_RestoreThread(state_); }
  NoGil(const NoGil&) = delete;
  NoGil& operator=(const NoGil&) = delete;

 private:
  PyThreadState* state_;
};

// Single scans release the GIL from this many code units (str) or bytes on. A short message
// scans in about a microsecond, less than handing the GIL to another thread and getting it back
// costs when other threads are busy (a wake-up each way, and up to the interpreter's switch
// interval of waiting to get it back): releasing it there would make every caller slower and
// parallelise nothing. Long texts, scan_many, compiling and loading always release it.
constexpr Py_ssize_t kReleaseGilFrom = 1024;

class MaybeNoGil {
 public:
  explicit MaybeNoGil(bool release) : state_(release ? PyEval_SaveThread() : nullptr) {}
  ~MaybeNoGil() {
    if (state_) PyEval_RestoreThread(state_);
  }
  MaybeNoGil(const MaybeNoGil&) = delete;
  MaybeNoGil& operator=(const MaybeNoGil&) = delete;

 private:
  PyThreadState* state_;
};

PyObject* NewStr(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!o) throw py::error_already_set();
  return o;
}

py::str Str(std::string_view s) { return py::reinterpret_steal<py::str>(NewStr(s)); }

py::list StrList(const std::vector<std::string>& v) {
  py::list out(v.size());
  for (size_t i = 0; i < v.size(); ++i) PyList_SET_ITEM(out.ptr(), i, NewStr(v[i]));
  return out;
}

// ---- text --------------------------------------------------------------------------------------

// A str or bytes argument, captured with the GIL held; read without it.
struct TextRef {
  PyObject* obj = nullptr;  // borrowed; the caller keeps it alive
  const void* data = nullptr;
  Py_ssize_t len = 0;  // code units (str) or bytes
  int kind = 0;        // 0: bytes or ASCII str (already UTF-8); else PyUnicode kind 1/2/4
  bool is_bytes = false;
};

bool Capture(PyObject* o, TextRef* t) {
  t->obj = o;
  if (PyUnicode_Check(o)) {
    if (PyUnicode_READY(o) < 0) throw py::error_already_set();
    t->len = PyUnicode_GET_LENGTH(o);
    t->data = PyUnicode_DATA(o);
    t->kind = PyUnicode_IS_ASCII(o) ? 0 : PyUnicode_KIND(o);
    t->is_bytes = false;
    return true;
  }
  if (PyBytes_Check(o)) {
    t->data = PyBytes_AS_STRING(o);
    t->len = PyBytes_GET_SIZE(o);
    t->kind = 0;
    t->is_bytes = true;
    return true;
  }
  return false;
}

void CaptureOrThrow(PyObject* o, TextRef* t) {
  if (!Capture(o, t))
    throw py::type_error(std::string("expected str or bytes, got ") + Py_TYPE(o)->tp_name);
}

// Writes the UTF-8 form of p[0, n) into `out` from `at` on and stores its length in `*len`. `out`
// only grows (its size is a high-water mark, not the text's length): resizing it down and up
// again for every message would zero-fill the difference each time.
template <typename Unit>
Py_ssize_t Transcode(const Unit* p, Py_ssize_t n, bool replace, std::string* out, size_t at,
                     size_t* len) {
  const size_t most = static_cast<size_t>(n) * (sizeof(Unit) == 1 ? 2 : sizeof(Unit) == 2 ? 3 : 4);
  if (out->size() < at + most) out->resize(std::max(at + most, 2 * out->size()));
  char* const start = out->data() + at;
  char* w = start;
  for (Py_ssize_t i = 0; i < n; ++i) {
    uint32_t c = p[i];
    if (c < 0x80) {
      *w++ = static_cast<char>(c);
    } else if (c < 0x800) {
      *w++ = static_cast<char>(0xC0 | (c >> 6));
      *w++ = static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      if (c >= 0xD800 && c <= 0xDFFF) {
        if (!replace) return i;
        // U+FFFD, as invalid UTF-8 is repaired: noise to the matcher, where '?' ends a sentence.
        *w++ = static_cast<char>(0xEF);
        *w++ = static_cast<char>(0xBF);
        *w++ = static_cast<char>(0xBD);
        continue;
      }
      *w++ = static_cast<char>(0xE0 | (c >> 12));
      *w++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (c & 0x3F));
    } else {
      *w++ = static_cast<char>(0xF0 | (c >> 18));
      *w++ = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      *w++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  *len = static_cast<size_t>(w - start);
  return -1;
}

// Where the UTF-8 form of a text is: in place (ASCII str, bytes), or at buf[at, at + len).
struct Utf8Piece {
  const char* in_place;  // nullptr: in the buffer
  size_t at, len;
  std::string_view View(const std::string& buf) const {
    return in_place ? std::string_view(in_place, len) : std::string_view(buf.data() + at, len);
  }
};

// The UTF-8 form of `t`, written into `buf` from `at` on unless it can be read in place. Needs no
// GIL. Returns the str index of the first lone surrogate (strict mode), else -1.
Py_ssize_t EncodeAt(const TextRef& t, bool replace, std::string* buf, size_t at, Utf8Piece* out) {
  out->in_place = nullptr;
  out->at = at;
  switch (t.kind) {
    case 0:
      out->in_place = static_cast<const char*>(t.data);
      out->len = static_cast<size_t>(t.len);
      return -1;
    case PyUnicode_1BYTE_KIND:
      return Transcode(static_cast<const Py_UCS1*>(t.data), t.len, replace, buf, at, &out->len);
    case PyUnicode_2BYTE_KIND:
      return Transcode(static_cast<const Py_UCS2*>(t.data), t.len, replace, buf, at, &out->len);
    default:
      return Transcode(static_cast<const Py_UCS4*>(t.data), t.len, replace, buf, at, &out->len);
  }
}

// UTF-8 view of `t`, in place when possible, else in `buf`. Needs no GIL. Returns the str index
// of the first lone surrogate (strict mode), else -1.
Py_ssize_t Encode(const TextRef& t, bool replace, std::string* buf, std::string_view* out) {
  Utf8Piece piece;
  const Py_ssize_t bad = EncodeAt(t, replace, buf, 0, &piece);
  if (bad < 0) *out = piece.View(*buf);
  return bad;
}

// ---- filters, profiles, options ------------------------------------------------------------------

// Per-rule Python strings, created once per filter (or profile, for its deny rule).
struct RuleStrings {
  py::object id, category, reason;
  py::object suggestions;  // a tuple when no suggestion is a template; else None (render per hit)
};

// Whether a rule's suggestions are templates, rendered per hit (else they are one shared tuple).
bool HasTemplate(const sq::Rule& r) {
  for (const std::string& t : r.suggestions)
    if (t.find_first_of("{}") != std::string::npos) return true;
  return false;
}

RuleStrings MakeRuleStrings(const sq::Rule& r) {
  RuleStrings s;
  s.id = Str(r.id);
  PyUnicode_InternInPlace(&s.id.ptr());
  s.category = Str(r.category);
  PyUnicode_InternInPlace(&s.category.ptr());
  s.reason = Str(r.reason);
  if (!HasTemplate(r)) {
    py::tuple t(r.suggestions.size());
    for (size_t i = 0; i < r.suggestions.size(); ++i)
      PyTuple_SET_ITEM(t.ptr(), i, NewStr(r.suggestions[i]));
    s.suggestions = std::move(t);
  } else {
    s.suggestions = py::none();
  }
  return s;
}

// Findings gathered without the GIL, turned into Python objects afterwards. A finding's `text`
// views a buffer that the next scan reuses, so it is cleared, and suggestion templates are
// rendered while it is still valid.
struct Hit {
  uint32_t message;     // index in the batch (0 for a single text)
  sq::Finding finding;  // `text` cleared
  uint32_t rendered_begin, rendered_count;
  // Index in Collected::masked of the masked form of the matched text, or -1 when masking left
  // it as it is (Finding.masked is then the `matched` object itself).
  int32_t masked = -1;
};

struct Collected {
  std::vector<Hit> hits;
  std::vector<std::string> rendered;
  std::vector<std::string> masked;
  void Clear() {
    hits.clear();
    rendered.clear();
    masked.clear();
  }
  void Add(uint32_t message, const sq::Finding& f, bool templated) {
    Hit h{message, f, 0, 0};
    if (templated) {
      h.rendered_begin = static_cast<uint32_t>(rendered.size());
      for (std::string& r : f.Suggestions()) rendered.push_back(std::move(r));
      h.rendered_count = static_cast<uint32_t>(rendered.size()) - h.rendered_begin;
    }
    h.finding.text = {};
    hits.push_back(h);
  }
};

// Whether a scan with these options reports every `privacy` finding that Scanner::Mask looks for
// (it scans with the default options): not under a profile (which may leave the category out)
// or a severity threshold.
bool CoversPrivacy(const sq::ScanOptions& o) {
  return o.profile == nullptr && o.min_severity == sq::Severity::kAdvice;
}

// Reusable buffers of MaskHits.
struct MaskBuffers {
  std::string text;
  std::vector<sq::Span> spans;
};

// `view` with personal data masked (scriptqa/mask.h), into b->text. `c.hits[from, to)` are
// findings of `view`; when `covers` (CoversPrivacy of the scan that found them) their `privacy`
// findings are all there is, else Scanner::Mask scans for them itself, so that a profile or a
// threshold that hides the category does not turn masking off. `sc` must not be mid-scan. Needs
// no GIL.
void MaskText(sq::Scanner& sc, std::string_view view, bool covers, const Collected& c, size_t from,
              size_t to, MaskBuffers* b) {
  b->spans.clear();
  for (size_t i = from; i < to; ++i)
    if (c.hits[i].finding.rule->category == sq::kPersonalDataCategory)
      b->spans.push_back(c.hits[i].finding.bytes);
  if (!covers) {
    absl::StatusOr<std::string> m = sc.Mask(view);
    if (m.ok() && m->size() == view.size()) {
      b->text = *std::move(m);
      return;
    }
    // Refused (it was scanned, so this is not expected): the conservative masking still applies.
  }
  b->text.assign(view.data(), view.size());
  sq::MaskPersonalDataInPlace(&b->text, b->spans);
}

// Sets the masked forms of c->hits[from, to), all findings of `view`. Needs no GIL.
void MaskHits(sq::Scanner& sc, std::string_view view, bool covers, Collected* c, size_t from,
              size_t to, MaskBuffers* b) {
  if (from >= to) return;
  MaskText(sc, view, covers, *c, from, to, b);
  for (size_t i = from; i < to; ++i) {
    Hit& h = c->hits[i];
    const sq::Span& span = h.finding.bytes;
    if (span.end > view.size() || span.end > b->text.size()) continue;
    std::string_view shown(b->text.data() + span.begin, span.size());
    if (shown == view.substr(span.begin, span.size())) continue;
    h.masked = static_cast<int32_t>(c->masked.size());
    c->masked.emplace_back(shown);
  }
}

// One Scanner and its reusable buffers; used by one thread at a time.
struct Slot {
  explicit Slot(sq::Scanner s) : scanner(std::move(s)) {}
  sq::Scanner scanner;
  std::string buf;
  Collected collected;
  // scan_many: the UTF-8 forms of a chunk of messages (in place or in `buf`) and their views.
  std::vector<Utf8Piece> pieces;
  std::vector<std::string_view> views;
  // Masking: buffers, and the messages of a chunk with findings (message in the chunk, first
  // and past-the-last hit).
  MaskBuffers mask;
  struct Flagged {
    size_t message, from, to;
  };
  std::vector<Flagged> flagged;
};

std::atomic<uint64_t> g_next_serial{1};
// Bumped in a forked child: the per-thread tables of the parent describe threads that do not
// exist there (and a scanner that was busy in one of them would stay busy).
std::atomic<uint64_t> g_fork_generation{0};

// Scanners for scan_many's worker threads. Shared with those threads (a helper thread that
// starts late may outlive the call that spawned it), so it holds only C++ objects and a mutex.
struct SlotPool {
  explicit SlotPool(std::shared_ptr<const sq::Filter> f) : filter(std::move(f)) {}
  std::shared_ptr<const sq::Filter> filter;
  std::mutex mu;
  std::vector<std::unique_ptr<Slot>> slots;

  absl::StatusOr<std::unique_ptr<Slot>> Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!slots.empty()) {
        std::unique_ptr<Slot> s = std::move(slots.back());
        slots.pop_back();
        return s;
      }
    }
    absl::StatusOr<sq::Scanner> sc = sq::Scanner::Create(filter);
    if (!sc.ok()) return sc.status();
    return std::make_unique<Slot>(std::move(*sc));
  }
  void Give(std::unique_ptr<Slot> s) {
    std::lock_guard<std::mutex> lock(mu);
    if (slots.size() < 64) slots.push_back(std::move(s));
  }
};

class NativeFilter {
 public:
  explicit NativeFilter(std::shared_ptr<const sq::Filter> f)
      : filter(std::move(f)),
        serial_(g_next_serial.fetch_add(1)),
        fork_generation_(g_fork_generation.load()),
        pool_(std::make_shared<SlotPool>(filter)) {
    for (const sq::Rule& r : filter->rules()) {
      rules.push_back(MakeRuleStrings(r));
      templated.push_back(HasTemplate(r));
    }
  }

  std::shared_ptr<const sq::Filter> filter;
  std::vector<RuleStrings> rules;
  std::vector<uint8_t> templated;  // per rule: suggestions are rendered per hit (readable without GIL)

  // The calling thread's scanner. GIL held (the GIL is what serialises these tables).
  Slot& ThreadSlot() {
    struct Cached {
      uint64_t serial = 0;
      Slot* slot = nullptr;
    };
    static thread_local Cached cache[4];
    if (fork_generation_ != g_fork_generation.load(std::memory_order_relaxed)) AfterFork();
    Cached& c = cache[serial_ & 3];
    if (c.serial == serial_) return *c.slot;
    auto& slot = slots_[std::this_thread::get_id()];
    if (!slot) slot = NewSlot();
    c.serial = serial_;
    c.slot = slot.get();
    return *slot;
  }

  // The scanners of scan_many's workers. GIL held.
  const std::shared_ptr<SlotPool>& Pool() {
    if (fork_generation_ != g_fork_generation.load(std::memory_order_relaxed)) AfterFork();
    return pool_;
  }

 private:
  void AfterFork() {
    // The parent's scanners may be mid-scan in threads that do not exist here: drop them (their
    // memory is this process's copy) and give the filter a new serial so that no thread_local
    // cache entry points at them.
    slots_.clear();
    // The pool's mutex may have been held by a thread that does not exist here: leave the old
    // pool alone (a small leak, once per fork) and start a new one.
    static_cast<void>(new std::shared_ptr<SlotPool>(std::move(pool_)));
    pool_ = std::make_shared<SlotPool>(filter);
    serial_ = g_next_serial.fetch_add(1);
    fork_generation_ = g_fork_generation.load();
  }
  std::unique_ptr<Slot> NewSlot() {
    absl::StatusOr<sq::Scanner> s = sq::Scanner::Create(filter);
    if (!s.ok()) ThrowStatus(s.status());
    return std::make_unique<Slot>(std::move(*s));
  }
  uint64_t serial_;
  uint64_t fork_generation_;
  std::unordered_map<std::thread::id, std::unique_ptr<Slot>> slots_;
  std::shared_ptr<SlotPool> pool_;
};

struct NativeProfile {
  std::shared_ptr<NativeFilter> filter;
  std::shared_ptr<const sq::Profile> profile;
  // Strings of the profile's deny rule (the one rule of a finding that is not the filter's),
  // made from that rule on first use. GIL held.
  const sq::Rule* deny_rule = nullptr;
  RuleStrings deny;
};

struct NativeOptions {
  sq::ScanOptions options;
  std::shared_ptr<NativeProfile> profile;  // keeps options.profile alive
  bool replace = false;                    // errors="replace"
};

sq::Severity ToSeverity(int s) {
  if (s < 0 || s > 2) throw py::value_error("severity must be 0 (advice), 1 (review) or 2 (block)");
  return static_cast<sq::Severity>(s);
}

// ---- findings ------------------------------------------------------------------------------------

bool InFilter(const NativeFilter& nf, const sq::Rule* r) {
  return r->index < nf.rules.size() && &nf.filter->rules()[r->index] == r;
}

// Whether the rule's suggestions are rendered per hit. Needs no GIL.
bool Templated(const NativeFilter& nf, const sq::Rule* r) {
  return InFilter(nf, r) ? nf.templated[r->index] != 0 : HasTemplate(*r);
}

// GIL held. The only rules outside the filter are the deny rules of profiles.
const RuleStrings& StringsFor(const NativeFilter& nf, const NativeOptions& o, const sq::Rule* r) {
  if (InFilter(nf, r)) return nf.rules[r->index];
  NativeProfile& p = *o.profile;
  if (p.deny_rule != r) {
    p.deny = MakeRuleStrings(*r);
    p.deny_rule = r;
  }
  return p.deny;
}

PyObject* CheckedNew(PyObject* o) {
  if (!o) throw py::error_already_set();
  return o;
}

// Builds one Finding tuple in place.
PyObject* MakeFinding(const Hit& h, const TextRef& t, const RuleStrings& rs, const Collected& c) {
  const sq::Finding& f = h.finding;
  PyObject* items[kFindingFields] = {};
  items[0] = rs.id.ptr();
  items[1] = rs.category.ptr();
  items[2] = g_types.severity[static_cast<int>(f.severity)];
  items[9] = rs.reason.ptr();
  Py_INCREF(items[0]);
  Py_INCREF(items[1]);
  Py_INCREF(items[2]);
  Py_INCREF(items[9]);
  try {
    items[3] = CheckedNew(PyLong_FromSize_t(f.chars.begin));
    items[4] = CheckedNew(PyLong_FromSize_t(f.chars.end));
    items[5] = CheckedNew(PyLong_FromSize_t(f.bytes.begin));
    items[6] = CheckedNew(PyLong_FromSize_t(f.bytes.end));
    items[7] = CheckedNew(
        t.is_bytes ? PyBytes_FromStringAndSize(static_cast<const char*>(t.data) + f.bytes.begin,
                                               static_cast<Py_ssize_t>(f.bytes.size()))
                   : PyUnicode_Substring(t.obj, static_cast<Py_ssize_t>(f.chars.begin),
                                         static_cast<Py_ssize_t>(f.chars.end)));
    if (h.masked < 0) {
      items[10] = items[7];
      Py_INCREF(items[10]);
    } else {
      const std::string& m = c.masked[static_cast<size_t>(h.masked)];
      items[10] = t.is_bytes ? CheckedNew(PyBytes_FromStringAndSize(m.data(), static_cast<Py_ssize_t>(m.size())))
                             : NewStr(m);
    }
    if (!rs.suggestions.is_none()) {
      items[8] = rs.suggestions.ptr();
      Py_INCREF(items[8]);
    } else {
      items[8] = CheckedNew(PyTuple_New(static_cast<Py_ssize_t>(h.rendered_count)));
      for (uint32_t i = 0; i < h.rendered_count; ++i)
        PyTuple_SET_ITEM(items[8], i, NewStr(c.rendered[h.rendered_begin + i]));
    }
    PyObject* o = CheckedNew(g_types.finding->tp_alloc(g_types.finding, kFindingFields));
    for (Py_ssize_t i = 0; i < kFindingFields; ++i) PyTuple_SET_ITEM(o, i, items[i]);
    return o;
  } catch (...) {
    for (PyObject* p : items) Py_XDECREF(p);
    throw;
  }
}

// The findings of one text as a list. Building objects may run the garbage collector and so
// arbitrary finalizers, which may scan again on this thread: `c` must not be the slot's own.
py::list MakeFindings(const NativeFilter& nf, const NativeOptions& o, const TextRef& t,
                      const Collected& c) {
  PyObject* list = CheckedNew(PyList_New(static_cast<Py_ssize_t>(c.hits.size())));
  py::list out = py::reinterpret_steal<py::list>(list);
  for (size_t i = 0; i < c.hits.size(); ++i) {
    const Hit& h = c.hits[i];
    PyList_SET_ITEM(list, i, MakeFinding(h, t, StringsFor(nf, o, h.finding.rule), c));
  }
  return out;
}

// Moves the slot's collected findings out for the time the Python objects are built, and back.
class Borrowed {
 public:
  explicit Borrowed(Collected* home) : home_(home), c_(std::move(*home)) { home_->Clear(); }
  ~Borrowed() {
    c_.Clear();
    if (c_.hits.capacity() >= home_->hits.capacity()) *home_ = std::move(c_);
  }
  const Collected& get() const { return c_; }

 private:
  Collected* home_;
  Collected c_;
};

// ---- scanning --------------------------------------------------------------------------------------

py::list Scan(NativeFilter& self, py::handle text, const NativeOptions& o) {
  if (!g_types.finding) RequireRegistered();
  TextRef t;
  CaptureOrThrow(text.ptr(), &t);
  Slot& s = self.ThreadSlot();
  absl::Status st;
  Py_ssize_t bad;
  {
    MaybeNoGil nogil(t.len >= kReleaseGilFrom);
    std::string_view view;
    bad = Encode(t, o.replace, &s.buf, &view);
    s.collected.Clear();
    if (bad < 0)
      st = s.scanner.Scan(view, o.options, [&](const sq::Finding& f) {
        s.collected.Add(0, f, Templated(self, f.rule));
        return sq::ScanControl::kContinue;
      });
    if (bad < 0 && st.ok())
      MaskHits(s.scanner, view, CoversPrivacy(o.options), &s.collected, 0, s.collected.hits.size(),
               &s.mask);
  }
  if (bad >= 0) ThrowEncode(-1, bad);
  if (!st.ok()) ThrowStatus(st);
  if (s.collected.hits.empty()) return py::reinterpret_steal<py::list>(CheckedNew(PyList_New(0)));
  Borrowed c(&s.collected);
  return MakeFindings(self, o, t, c.get());
}

// `text` with personal data masked (Scanner::Mask): str for str, bytes for bytes.
py::object Mask(NativeFilter& self, py::handle text, bool replace) {
  TextRef t;
  CaptureOrThrow(text.ptr(), &t);
  Slot& s = self.ThreadSlot();
  absl::StatusOr<std::string> m;
  Py_ssize_t bad;
  {
    MaybeNoGil nogil(t.len >= kReleaseGilFrom);
    std::string_view view;
    bad = Encode(t, replace, &s.buf, &view);
    if (bad < 0) m = s.scanner.Mask(view);
  }
  if (bad >= 0) ThrowEncode(-1, bad);
  if (!m.ok()) ThrowStatus(m.status());
  if (t.is_bytes) return py::bytes(*m);
  return Str(*m);
}

bool HasFinding(NativeFilter& self, py::handle text, int at_least, const NativeOptions& o) {
  TextRef t;
  CaptureOrThrow(text.ptr(), &t);
  sq::Severity sev = ToSeverity(at_least);
  Slot& s = self.ThreadSlot();
  absl::StatusOr<bool> r;
  Py_ssize_t bad;
  {
    MaybeNoGil nogil(t.len >= kReleaseGilFrom);
    std::string_view view;
    bad = Encode(t, o.replace, &s.buf, &view);
    if (bad < 0) r = s.scanner.HasFinding(view, sev, o.options);
  }
  if (bad >= 0) ThrowEncode(-1, bad);
  if (!r.ok()) ThrowStatus(r.status());
  return *r;
}

py::tuple Rewrite(NativeFilter& self, py::handle text, const NativeOptions& o) {
  RequireRegistered();
  TextRef t;
  CaptureOrThrow(text.ptr(), &t);
  Slot& s = self.ThreadSlot();
  absl::StatusOr<sq::Rewritten> r;
  Collected replaced;
  Py_ssize_t bad;
  {
    NoGil nogil;
    std::string_view view;
    bad = Encode(t, o.replace, &s.buf, &view);
    if (bad < 0) r = s.scanner.Rewrite(view, o.options);
    if (bad < 0 && r.ok()) {
      for (const sq::Finding& f : r->replaced) replaced.Add(0, f, Templated(self, f.rule));
      MaskHits(s.scanner, view, false, &replaced, 0, replaced.hits.size(), &s.mask);
    }
  }
  if (bad >= 0) ThrowEncode(-1, bad);
  if (!r.ok()) ThrowStatus(r.status());
  py::object out_text = t.is_bytes ? py::object(py::bytes(r->text)) : py::object(Str(r->text));
  return py::make_tuple(out_text, MakeFindings(self, o, t, replaced), r->clean);
}

// (normalized, traces, findings); a trace is (rule_id, category, severity, decision, detail,
// byte_begin, byte_end, norm_begin, norm_end, char_begin, char_end).
py::tuple Explain(NativeFilter& self, py::handle text, const NativeOptions& o) {
  RequireRegistered();
  TextRef t;
  CaptureOrThrow(text.ptr(), &t);
  Slot& s = self.ThreadSlot();
  absl::StatusOr<sq::Explanation> e;
  Collected findings;
  Py_ssize_t bad;
  {
    NoGil nogil;
    std::string_view view;
    bad = Encode(t, o.replace, &s.buf, &view);
    if (bad < 0) e = s.scanner.Explain(view, o.options);
    if (bad < 0 && e.ok()) {
      for (const sq::Finding& f : e->findings) findings.Add(0, f, Templated(self, f.rule));
      MaskHits(s.scanner, view, false, &findings, 0, findings.hits.size(), &s.mask);
    }
  }
  if (bad >= 0) ThrowEncode(-1, bad);
  if (!e.ok()) ThrowStatus(e.status());
  py::list traces(e->traces.size());
  for (size_t i = 0; i < e->traces.size(); ++i) {
    const sq::Trace& tr = e->traces[i];
    py::tuple row = py::make_tuple(
        Str(tr.rule->id), Str(tr.rule->category), static_cast<int>(tr.rule->severity),
        Str(sq::DecisionName(tr.decision)), Str(tr.detail), tr.bytes.begin, tr.bytes.end,
        tr.normalized.begin, tr.normalized.end, tr.chars.begin, tr.chars.end);
    PyList_SET_ITEM(traces.ptr(), i, row.release().ptr());
  }
  return py::make_tuple(Str(e->normalized), traces, MakeFindings(self, o, t, findings));
}

// ---- streams ---------------------------------------------------------------------------------------

// One message checked while it is written (scriptqa/stream.h), in str chunks or in bytes chunks
// (not both). Each step returns (released, new_findings, finished): the piece of the message
// that may now be shown (after the pieces returned before), the findings that became certain
// (their offsets index the whole message: str indices for str chunks) and whether the message
// is finished. Used by one thread at a time; a call while another runs raises.
struct NativeStream {
  std::shared_ptr<NativeFilter> filter;
  std::shared_ptr<NativeOptions> options;  // keeps the profile alive
  std::optional<sq::StreamScanner> stream;
  int mode = -1;                  // since the last reset: -1 nothing written, 0 str, 1 bytes
  size_t released = 0;            // bytes of text() released so far
  Py_ssize_t written_units = 0;   // code points written (str chunks), for error positions
  std::string buf;                // a chunk's UTF-8 form
  MaskBuffers mask;
  std::atomic<bool> busy{false};
};

class StreamBusy {
 public:
  explicit StreamBusy(NativeStream& s) : s_(s) {
    if (s_.busy.exchange(true))
      ThrowStatus(absl::FailedPreconditionError(
          "the stream is in use by another call (a StreamScanner is one message: use one per "
          "thread)"));
  }
  ~StreamBusy() { s_.busy.store(false); }
  StreamBusy(const StreamBusy&) = delete;
  StreamBusy& operator=(const StreamBusy&) = delete;

 private:
  NativeStream& s_;
};

std::shared_ptr<NativeStream> MakeStream(std::shared_ptr<NativeFilter> f,
                                         std::shared_ptr<NativeOptions> o, size_t min_scan_bytes) {
  auto ns = std::make_shared<NativeStream>();
  sq::StreamOptions so;
  so.scan = o->options;
  so.min_scan_bytes = min_scan_bytes;
  if (o->profile) so.profile = o->profile->profile;
  absl::StatusOr<sq::StreamScanner> st;
  {
    NoGil nogil;
    st = sq::StreamScanner::Create(f->filter, so);
  }
  if (!st.ok()) ThrowStatus(st.status());
  ns->stream.emplace(*std::move(st));
  ns->filter = std::move(f);
  ns->options = std::move(o);
  return ns;
}

// The message so far as the caller's type: str (str chunks, or nothing yet) or bytes.
py::object StreamText(const NativeStream& self, std::string_view text) {
  if (self.mode == 1) return py::bytes(text.data(), text.size());
  return Str(text);
}

// Findings of the stream's message as Finding tuples (masked forms from the whole message).
// GIL held; the stream is busy (its text stays).
py::list StreamFindings(NativeStream& self, absl::Span<const sq::Finding> fs) {
  if (fs.empty()) return py::reinterpret_steal<py::list>(CheckedNew(PyList_New(0)));
  Collected c;
  const std::string_view text = self.stream->text();
  Slot& s = self.filter->ThreadSlot();
  {
    NoGil nogil;
    for (const sq::Finding& f : fs) c.Add(0, f, Templated(*self.filter, f.rule));
    MaskHits(s.scanner, text, /*covers=*/false, &c, 0, c.hits.size(), &self.mask);
  }
  TextRef whole;
  py::object holder;
  if (self.mode == 1) {
    whole.data = text.data();
    whole.len = static_cast<Py_ssize_t>(text.size());
    whole.is_bytes = true;
  } else {
    holder = Str(text);
    whole.obj = holder.ptr();
    whole.is_bytes = false;
  }
  return MakeFindings(*self.filter, *self.options, whole, c);
}

// write(chunk) when `chunk` is given, else finish().
py::tuple StreamStep(NativeStream& self, py::object chunk) {
  RequireRegistered();
  StreamBusy busy(self);
  const bool finish = chunk.is_none();
  TextRef t;
  if (!finish) {
    CaptureOrThrow(chunk.ptr(), &t);
    const int mode = t.is_bytes ? 1 : 0;
    if (self.mode >= 0 && self.mode != mode)
      throw py::type_error(std::string("this message was written in ") +
                           (self.mode == 1 ? "bytes" : "str") + " chunks; got a " +
                           Py_TYPE(chunk.ptr())->tp_name + " (reset() starts a new message)");
  }
  absl::StatusOr<sq::StreamUpdate> u;
  Py_ssize_t bad = -1;
  std::string released;
  {
    MaybeNoGil nogil(finish || t.len >= kReleaseGilFrom);
    std::string_view view;
    if (!finish) bad = Encode(t, self.options->replace, &self.buf, &view);
    if (bad < 0) u = finish ? self.stream->Finish() : self.stream->Write(view);
    if (bad < 0 && u.ok() && u->releasable > self.released) {
      released.assign(self.stream->text().substr(self.released, u->releasable - self.released));
      self.released = u->releasable;
    }
  }
  if (bad >= 0) ThrowEncode(-1, self.written_units + bad);
  if (!u.ok()) ThrowStatus(u.status());
  if (!finish) {
    self.mode = t.is_bytes ? 1 : 0;
    if (!t.is_bytes) self.written_units += t.len;
  }
  py::list found = StreamFindings(self, u->new_findings);
  return py::make_tuple(StreamText(self, released), found, u->finished);
}

void StreamReset(NativeStream& self) {
  StreamBusy busy(self);
  self.stream->Reset();
  self.mode = -1;
  self.released = 0;
  self.written_units = 0;
}

// One worker of a scan_many call: its findings and its first failure.
struct Worker {
  Collected collected;
  Py_ssize_t fail_message = -1;   // index of the first message that failed, or -1
  Py_ssize_t fail_position = -1;  // lone surrogate position, or -1 for a status
  absl::Status fail_status;
};

// A scan_many call, shared with its helper threads. Messages are handed out in chunks through
// `next`; the calling thread works too, and when no chunk is left it closes the hand-out and
// waits only for the chunks helpers have actually taken. A helper that starts late (a busy
// machine can take milliseconds to schedule a new thread) finds nothing left, returns its
// scanner and exits without touching the call's data, which may be gone by then: it holds only
// this object and the pool.
struct Job {
  std::atomic<Py_ssize_t> next{0};
  std::atomic<Py_ssize_t> done{0};  // messages of taken chunks that are finished (or abandoned)
  std::atomic<bool> stop{false};    // a worker failed: take no more chunks
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<SlotPool> pool;
  // Valid while the calling thread waits; used only for chunks taken before the hand-out closed.
  Py_ssize_t n = 0;
  Py_ssize_t chunk = 64;
  const TextRef* refs = nullptr;
  const NativeFilter* filter = nullptr;
  const NativeOptions* options = nullptr;
};

// Scans messages [begin, end) of the job with one Scanner::ScanBatch call (the engine runs once
// per 64 KiB of messages instead of once per message). Records the first failure of the range in
// `w` and returns whether there was one.
bool ScanChunk(Job& job, Slot& s, Worker& w, Py_ssize_t begin, Py_ssize_t end) {
  // UTF-8 forms first (the buffer may move while it grows), up to the first lone surrogate.
  s.pieces.resize(static_cast<size_t>(end - begin));
  size_t used = 0;
  Py_ssize_t stop = end, bad = -1;
  for (Py_ssize_t i = begin; i < end; ++i) {
    Utf8Piece& p = s.pieces[static_cast<size_t>(i - begin)];
    bad = EncodeAt(job.refs[i], job.options->replace, &s.buf, used, &p);
    if (bad >= 0) {
      stop = i;
      break;
    }
    if (!p.in_place) used += p.len;
  }
  s.views.resize(static_cast<size_t>(stop - begin));
  for (size_t k = 0; k < s.views.size(); ++k) s.views[k] = s.pieces[k].View(s.buf);

  // Messages before a lone surrogate are scanned: one of them may fail first.
  bool failed = false;
  size_t passed = 0;
  s.flagged.clear();
  absl::Status st = s.scanner.ScanBatch(
      s.views, job.options->options,
      [&](size_t k, const absl::Status& ms, absl::Span<const sq::Finding> findings) {
        passed = k + 1;
        if (failed) return;
        const Py_ssize_t i = begin + static_cast<Py_ssize_t>(k);
        if (!ms.ok()) {
          w.fail_message = i;
          w.fail_status = ms;
          failed = true;
          return;
        }
        if (findings.empty()) return;
        const size_t from = w.collected.hits.size();
        for (const sq::Finding& f : findings)
          w.collected.Add(static_cast<uint32_t>(i), f, Templated(*job.filter, f.rule));
        s.flagged.push_back({k, from, w.collected.hits.size()});
      });
  // Masked forms once the batch is done (Scanner::Mask cannot run inside its callback); the views
  // are still valid.
  const bool covers = CoversPrivacy(job.options->options);
  for (const Slot::Flagged& m : s.flagged)
    MaskHits(s.scanner, s.views[m.message], covers, &w.collected, m.from, m.to, &s.mask);
  if (!failed && !st.ok()) {  // the whole call failed: at the first message not passed back
    w.fail_message = begin + static_cast<Py_ssize_t>(passed);
    w.fail_status = st;
    failed = true;
  }
  if (!failed && stop < end) {
    w.fail_message = stop;
    w.fail_position = bad;
    failed = true;
  }
  return failed;
}

void RunWorker(Job& job, Slot& s, Worker& w) {
  for (;;) {
    if (job.stop.load(std::memory_order_relaxed)) return;
    const Py_ssize_t begin = job.next.fetch_add(job.chunk, std::memory_order_relaxed);
    if (begin >= job.n) return;
    const Py_ssize_t end = std::min(job.n, begin + job.chunk);
    const bool failed = ScanChunk(job, s, w, begin, end);
    if (failed) job.stop.store(true, std::memory_order_relaxed);
    job.done.fetch_add(end - begin, std::memory_order_release);  // all of the chunk, even on failure
    {
      std::lock_guard<std::mutex> lock(job.mu);
    }
    job.cv.notify_all();
    if (failed) return;
  }
}

void RunHelper(std::shared_ptr<Job> job, std::shared_ptr<Worker> w) {
  absl::StatusOr<std::unique_ptr<Slot>> slot = job->pool->Take();
  if (!slot.ok()) {
    // Take nothing: the other workers (at least the calling thread) do the work.
    return;
  }
  RunWorker(*job, **slot, *w);
  job->pool->Give(std::move(*slot));
}

// Closes a Job's hand-out and waits for the chunks that were taken: helper threads read the
// call's texts, options and filter until then, so every way out of ScanMany passes here. Needs no
// GIL (helpers never take it); on an exception it is waited for with the GIL held, which is
// brief and cannot deadlock.
class JobFinisher {
 public:
  explicit JobFinisher(Job* job) : job_(job) {}
  ~JobFinisher() {
    if (job_) {
      job_->stop.store(true, std::memory_order_relaxed);
      Finish();
    }
  }
  JobFinisher(const JobFinisher&) = delete;
  JobFinisher& operator=(const JobFinisher&) = delete;

  void Finish() {
    if (!job_) return;
    const Py_ssize_t taken =
        std::min(job_->n, job_->next.fetch_add(job_->n + job_->chunk, std::memory_order_relaxed));
    std::unique_lock<std::mutex> lock(job_->mu);
    job_->cv.wait(lock, [&] { return job_->done.load(std::memory_order_acquire) >= taken; });
    job_ = nullptr;
  }

 private:
  Job* job_;
};

// New references to a batch's texts, dropped with the GIL held (on every way out of ScanMany).
class OwnedTexts {
 public:
  explicit OwnedTexts(Py_ssize_t n) { items_.reserve(static_cast<size_t>(n)); }
  ~OwnedTexts() {
    for (PyObject* o : items_) Py_DECREF(o);
  }
  OwnedTexts(const OwnedTexts&) = delete;
  OwnedTexts& operator=(const OwnedTexts&) = delete;
  void Add(PyObject* o) {  // capacity reserved: cannot throw
    Py_INCREF(o);
    items_.push_back(o);
  }

 private:
  std::vector<PyObject*> items_;
};

// The order of work is what makes this scale: everything that needs the GIL but not the scan
// (the n result lists, most of the serial part: about 80 ns a message and the garbage collector
// runs it triggers) is done by the calling thread while the helpers already scan, and only the
// findings (a few percent of messages) are added after the parallel part.
py::list ScanMany(NativeFilter& self, py::handle texts, const NativeOptions& o, int threads,
                  int chunk) {
  RequireRegistered();
  if (!PyList_Check(texts.ptr())) throw py::type_error("scan_many: expected a list");
  // Our own reference to every text, taken before anything can run Python code: finalizers run
  // by the collector while the result lists are built may change the caller's list. (Not
  // PyList_GetSlice: on 3.11 it reads the source list after allocating, and so after any
  // collection that allocation triggers.)
  const Py_ssize_t n = PyList_GET_SIZE(texts.ptr());
  std::vector<TextRef> refs(static_cast<size_t>(n));
  OwnedTexts owned(n);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(texts.ptr(), i);
    if (!Capture(item, &refs[i]))
      throw py::type_error("scan_many: item " + std::to_string(i) + ": expected str or bytes, got " +
                           Py_TYPE(item)->tp_name);
    owned.Add(item);
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (chunk <= 0) chunk = 64;
  // No more workers than chunks of work.
  threads = static_cast<int>(
      std::min<Py_ssize_t>(threads, std::max<Py_ssize_t>(1, (n + chunk - 1) / chunk)));

  auto job = std::make_shared<Job>();
  job->pool = self.Pool();
  job->n = n;
  job->chunk = chunk;
  job->refs = refs.data();
  job->filter = &self;
  job->options = &o;
  std::vector<std::shared_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) workers.push_back(std::make_shared<Worker>());

  JobFinisher finisher(job.get());
  for (int i = 1; i < threads; ++i) {
    try {
      std::thread(RunHelper, job, workers[i]).detach();
    } catch (const std::system_error&) {
      break;  // no more threads: fewer workers
    }
  }

  // While the helpers scan: one empty list per message.
  py::list out = py::reinterpret_steal<py::list>(CheckedNew(PyList_New(n)));
  for (Py_ssize_t i = 0; i < n; ++i) PyList_SET_ITEM(out.ptr(), i, CheckedNew(PyList_New(0)));

  absl::Status setup;
  {
    NoGil nogil;
    absl::StatusOr<std::unique_ptr<Slot>> slot = job->pool->Take();
    if (slot.ok()) {
      RunWorker(*job, **slot, *workers[0]);
      job->pool->Give(std::move(*slot));
    } else {
      setup = slot.status();
      job->stop.store(true);
    }
    finisher.Finish();
  }
  if (!setup.ok()) ThrowStatus(setup);

  // Chunks are handed out in order and every taken chunk is finished up to its first failure, so
  // the smallest failing index over all workers is the first failure of the batch.
  const Worker* failed = nullptr;
  for (const auto& w : workers)
    if (w->fail_message >= 0 && (!failed || w->fail_message < failed->fail_message)) failed = w.get();
  if (failed) {
    if (failed->fail_position >= 0) ThrowEncode(failed->fail_message, failed->fail_position);
    const absl::Status& st = failed->fail_status;
    ThrowStatus(absl::Status(st.code(), "item " + std::to_string(failed->fail_message) + ": " +
                                            std::string(st.message())));
  }

  for (const auto& w : workers) {
    for (const Hit& h : w->collected.hits) {
      py::object f = py::reinterpret_steal<py::object>(
          MakeFinding(h, refs[h.message], StringsFor(self, o, h.finding.rule), w->collected));
      if (PyList_Append(PyList_GET_ITEM(out.ptr(), h.message), f.ptr()) < 0)
        throw py::error_already_set();
    }
  }
  return out;
}

// ---- BoundScan: filter.scan for one set of options, called without pybind11's dispatcher ----

// The per-message hot path. pybind11's generic dispatcher (argument vectors, type look-ups by
// std::type_info) costs more than scanning a short message, so scan(text) for a fixed
// (filter, options) pair is a small vectorcall object of its own.
struct BoundScan {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  std::shared_ptr<NativeFilter>* filter;
  std::shared_ptr<NativeOptions>* options;
};

PyTypeObject* g_bound_scan_type = nullptr;

PyObject* BoundScanCall(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* b = reinterpret_cast<BoundScan*>(self);
  if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
    PyErr_SetString(PyExc_TypeError, "scan() takes exactly one argument (the text)");
    return nullptr;
  }
  try {
    return Scan(**b->filter, args[0], **b->options).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (py::builtin_exception& e) {
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

void BoundScanDealloc(PyObject* self) {
  auto* b = reinterpret_cast<BoundScan*>(self);
  PyTypeObject* tp = Py_TYPE(self);
  delete b->filter;
  delete b->options;
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMemberDef g_bound_scan_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, static_cast<Py_ssize_t>(offsetof(BoundScan, vectorcall)),
     READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot g_bound_scan_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(&BoundScanDealloc)},
    {Py_tp_call, reinterpret_cast<void*>(&PyVectorcall_Call)},
    {Py_tp_members, g_bound_scan_members},
    {Py_tp_doc, const_cast<char*>("scan(text) -> list[Finding] for one filter and one set of options")},
    {0, nullptr},
};

PyType_Spec g_bound_scan_spec = {
    "scriptqa._scriptqa.BoundScan", sizeof(BoundScan), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL, g_bound_scan_slots};

py::object Bind(std::shared_ptr<NativeFilter> f, std::shared_ptr<NativeOptions> o) {
  if (!f || !o) throw py::value_error("bind: filter and options required");
  if (o->profile && o->profile->filter != f) throw py::value_error("the options belong to another filter");
  PyObject* obj = g_bound_scan_type->tp_alloc(g_bound_scan_type, 0);
  if (!obj) throw py::error_already_set();
  auto* b = reinterpret_cast<BoundScan*>(obj);
  b->vectorcall = &BoundScanCall;
  b->filter = new std::shared_ptr<NativeFilter>(std::move(f));
  b->options = new std::shared_ptr<NativeOptions>(std::move(o));
  return py::reinterpret_steal<py::object>(obj);
}

// ---- ScanMethod: Filter.scan without a Python frame ------------------------------------------

// Installed as the `scan` attribute of the Python class Filter. A call `f.scan(text)` with no
// keyword arguments goes straight to the filter's default BoundScan (found through the
// `_scan_default` slot of the instance); anything else — keyword options, a wrong argument — calls
// the Python implementation, which is also what `Filter.scan` shows to help() and inspect.
// Errors of the fast path are translated into the package's exceptions by a registered function.
struct ScanMethod {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject* impl;  // the Python function Filter.scan
  PyObject* slot;  // the member descriptor of Filter._scan_default
};

PyTypeObject* g_scan_method_type = nullptr;

PyObject* TranslateError() {
  if (!g_types.translate) return nullptr;
  if (!PyErr_ExceptionMatches(g_status_error) && !PyErr_ExceptionMatches(g_encode_error)) return nullptr;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyObject* translated = PyObject_CallOneArg(g_types.translate, value);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  if (translated) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(translated)), translated);
    Py_DECREF(translated);
  }
  return nullptr;
}

PyObject* ScanMethodCall(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* m = reinterpret_cast<ScanMethod*>(self);
  if (PyVectorcall_NARGS(nargsf) == 2 && (!kwnames || PyTuple_GET_SIZE(kwnames) == 0)) {
    PyObject* bound = Py_TYPE(m->slot)->tp_descr_get(m->slot, args[0], nullptr);
    if (bound && Py_TYPE(bound) == g_bound_scan_type) {
      PyObject* r = BoundScanCall(bound, args + 1, 1, nullptr);
      Py_DECREF(bound);
      return r ? r : TranslateError();
    }
    Py_XDECREF(bound);
    PyErr_Clear();  // not a Filter: the Python implementation says what is wrong
  }
  return PyObject_Vectorcall(m->impl, args, nargsf, kwnames);
}

PyObject* ScanMethodGet(PyObject* self, PyObject* obj, PyObject*) {
  auto* m = reinterpret_cast<ScanMethod*>(self);
  if (!obj || obj == Py_None) {
    Py_INCREF(m->impl);
    return m->impl;
  }
  return PyMethod_New(self, obj);  // `scan = f.scan; scan(text)` keeps the fast path
}

// help() and inspect see the Python implementation (inspect follows __wrapped__).
PyObject* ScanMethodImplAttr(PyObject* self, void* name) {
  return PyObject_GetAttrString(reinterpret_cast<ScanMethod*>(self)->impl, static_cast<const char*>(name));
}

PyGetSetDef g_scan_method_getset[] = {
    {"__doc__", &ScanMethodImplAttr, nullptr, nullptr, const_cast<char*>("__doc__")},
    {"__name__", &ScanMethodImplAttr, nullptr, nullptr, const_cast<char*>("__name__")},
    {"__qualname__", &ScanMethodImplAttr, nullptr, nullptr, const_cast<char*>("__qualname__")},
    {"__module__", &ScanMethodImplAttr, nullptr, nullptr, const_cast<char*>("__module__")},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

void ScanMethodDealloc(PyObject* self) {
  auto* m = reinterpret_cast<ScanMethod*>(self);
  PyTypeObject* tp = Py_TYPE(self);
  Py_XDECREF(m->impl);
  Py_XDECREF(m->slot);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMemberDef g_scan_method_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, static_cast<Py_ssize_t>(offsetof(ScanMethod, vectorcall)),
     READONLY, nullptr},
    {"__wrapped__", T_OBJECT, static_cast<Py_ssize_t>(offsetof(ScanMethod, impl)), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot g_scan_method_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(&ScanMethodDealloc)},
    {Py_tp_call, reinterpret_cast<void*>(&PyVectorcall_Call)},
    {Py_tp_descr_get, reinterpret_cast<void*>(&ScanMethodGet)},
    {Py_tp_members, g_scan_method_members},
    {Py_tp_getset, g_scan_method_getset},
    {0, nullptr},
};

PyType_Spec g_scan_method_spec = {
    "scriptqa._scriptqa.ScanMethod", sizeof(ScanMethod), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    g_scan_method_slots};

py::object MakeScanMethod(py::object impl, py::object slot) {
  if (!PyCallable_Check(impl.ptr())) throw py::type_error("scan_method: impl must be callable");
  if (!Py_TYPE(slot.ptr())->tp_descr_get) throw py::type_error("scan_method: slot must be a descriptor");
  PyObject* obj = g_scan_method_type->tp_alloc(g_scan_method_type, 0);
  if (!obj) throw py::error_already_set();
  auto* m = reinterpret_cast<ScanMethod*>(obj);
  m->vectorcall = &ScanMethodCall;
  m->impl = impl.release().ptr();
  m->slot = slot.release().ptr();
  return py::reinterpret_steal<py::object>(obj);
}

// ---- building and loading ------------------------------------------------------------------------

std::shared_ptr<NativeFilter> Wrap(absl::StatusOr<std::shared_ptr<const sq::Filter>> f) {
  if (!f.ok()) ThrowStatus(f.status());
  return std::make_shared<NativeFilter>(std::move(*f));
}

// The compile-time bounds (sq::kCompileLimitFields) in the order of the `limits` tuple below;
// the package checks names and values against this table.
py::dict DefaultLimits() {
  const sq::CompileLimits d;
  py::dict out;
  for (const sq::CompileLimitField& f : sq::kCompileLimitFields) out[Str(f.name)] = d.*f.bound;
  return out;
}

// sources: [(name, content: bytes, kind: 0 auto / 1 rules / 2 terms, category, severity)]
// normalization: (fold_width, fold_case, traditional_to_simplified, skip_noise, significant,
//                 extra_noise, collapse_repeats)
// limits: None (the defaults) or a tuple in the order of DefaultLimits(), each >= 0, 0 lifting
//         the bound
std::shared_ptr<NativeFilter> Compile(py::list sources, py::tuple normalization,
                                      py::list severity_overrides, py::list disabled_rules,
                                      py::object limits) {
  std::vector<sq::DictionarySource> srcs;
  for (py::handle h : sources) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(h);
    sq::DictionarySource s;
    s.path = t[0].cast<std::string>();
    s.content = t[1].cast<std::string>();
    int kind = t[2].cast<int>();
    if (kind < 0 || kind > 2) throw py::value_error("bad dictionary kind");
    s.kind = static_cast<sq::DictionarySource::Kind>(kind);
    s.category = t[3].cast<std::string>();
    s.severity = ToSeverity(t[4].cast<int>());
    srcs.push_back(std::move(s));
  }
  sq::FilterOptions options;
  sq::NormalizationOptions& n = options.normalization;
  n.fold_width = normalization[0].cast<bool>();
  n.fold_case = normalization[1].cast<bool>();
  n.traditional_to_simplified = normalization[2].cast<bool>();
  n.skip_noise = normalization[3].cast<bool>();
  n.significant = normalization[4].cast<std::string>();
  n.extra_noise = normalization[5].cast<std::string>();
  n.collapse_repeats = normalization[6].cast<bool>();
  for (py::handle h : severity_overrides) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(h);
    options.severity_overrides.push_back({t[0].cast<std::string>(), ToSeverity(t[1].cast<int>())});
  }
  for (py::handle h : disabled_rules) options.disabled_rules.push_back(h.cast<std::string>());
  // Errors past a bound say which key of the Python argument raises it.
  options.limits.raise_hint = "raise it with limits={'{name}': N} (0 lifts it)";
  if (!limits.is_none()) {
    py::tuple t = limits.cast<py::tuple>();
    constexpr size_t n = std::size(sq::kCompileLimitFields);
    if (t.size() != n)
      throw py::value_error("limits: expected a tuple of " + std::to_string(n) + " integers");
    // pybind11 refuses negative values and values past size_t for size_t (TypeError).
    for (size_t i = 0; i < n; ++i)
      options.limits.*sq::kCompileLimitFields[i].bound = t[i].cast<size_t>();
  }
  absl::StatusOr<std::shared_ptr<const sq::Filter>> f;
  {
    NoGil nogil;
    f = sq::Filter::FromDictionaries(srcs, options);
  }
  return Wrap(std::move(f));
}

std::shared_ptr<NativeFilter> Deserialize(py::bytes data) {
  char* p = nullptr;
  Py_ssize_t len = 0;
  if (PyBytes_AsStringAndSize(data.ptr(), &p, &len) < 0) throw py::error_already_set();
  absl::StatusOr<std::shared_ptr<const sq::Filter>> f;
  {
    NoGil nogil;  // `data` is immutable and referenced by the caller
    f = sq::Filter::Deserialize(std::string_view(p, static_cast<size_t>(len)));
  }
  return Wrap(std::move(f));
}

py::bytes Serialize(const NativeFilter& self) {
  absl::StatusOr<std::string> s;
  {
    NoGil nogil;
    s = self.filter->Serialize();
  }
  if (!s.ok()) ThrowStatus(s.status());
  return py::bytes(*s);
}

const char* ValidatorName(sq::Validator v) {
  switch (v) {
    case sq::Validator::kNone: return "";
    case sq::Validator::kCnMobile: return "cn_mobile";
    case sq::Validator::kCnId18: return "cn_id18";
    case sq::Validator::kLuhn: return "luhn";
    case sq::Validator::kCnLandline: return "cn_landline";
  }
  return "";
}

const char* BoundaryName(sq::Boundary b) {
  switch (b) {
    case sq::Boundary::kNone: return "none";
    case sq::Boundary::kAlpha: return "alpha";
    case sq::Boundary::kDigit: return "digit";
    case sq::Boundary::kAlnum: return "alnum";
  }
  return "none";
}

// (id, category, severity, reason, literals, regexes, suggestions, allow, negate, near, window,
//  validator, boundary, hit_examples, miss_examples, file, line) per rule.
py::list Rules(const NativeFilter& self) {
  py::list out;
  for (const sq::Rule& r : self.filter->rules()) {
    out.append(py::make_tuple(
        self.rules[r.index].id, self.rules[r.index].category, static_cast<int>(r.severity),
        self.rules[r.index].reason, StrList(r.literals), StrList(r.regexes),
        StrList(r.suggestions), StrList(r.allow), StrList(r.negate), StrList(r.near), r.window,
        ValidatorName(r.validator), BoundaryName(r.boundary), StrList(r.hit_examples),
        StrList(r.miss_examples), Str(r.file), r.line));
  }
  return out;
}

std::shared_ptr<NativeProfile> MakeProfile(std::shared_ptr<NativeFilter> nf, py::list enabled,
                                           py::list disabled, py::list overrides, py::list allow,
                                           py::list deny, const std::string& deny_category,
                                           int deny_severity, const std::string& deny_reason) {
  sq::ProfileOptions po;
  for (py::handle h : enabled) po.enabled_categories.push_back(h.cast<std::string>());
  for (py::handle h : disabled) po.disabled.push_back(h.cast<std::string>());
  for (py::handle h : overrides) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(h);
    po.severity_overrides.push_back({t[0].cast<std::string>(), ToSeverity(t[1].cast<int>())});
  }
  for (py::handle h : allow) po.allow_terms.push_back(h.cast<std::string>());
  for (py::handle h : deny) po.deny_terms.push_back(h.cast<std::string>());
  po.deny_category = deny_category;
  po.deny_severity = ToSeverity(deny_severity);
  po.deny_reason = deny_reason;
  absl::StatusOr<std::shared_ptr<const sq::Profile>> p;
  {
    NoGil nogil;
    p = sq::Profile::Create(nf->filter, po);
  }
  if (!p.ok()) ThrowStatus(p.status());
  auto out = std::make_shared<NativeProfile>();
  out->filter = std::move(nf);
  out->profile = std::move(*p);
  return out;
}

std::shared_ptr<NativeOptions> MakeOptions(const NativeFilter& nf, int min_severity, int overlap,
                                           bool replace, std::shared_ptr<NativeProfile> profile) {
  auto o = std::make_shared<NativeOptions>();
  o->options.min_severity = ToSeverity(min_severity);
  if (overlap < 0 || overlap > 1) throw py::value_error("overlap must be 0 (longest) or 1 (all)");
  o->options.overlap = static_cast<sq::Overlap>(overlap);
  o->options.invalid_utf8 = replace ? sq::InvalidUtf8::kRepair : sq::InvalidUtf8::kReject;
  o->replace = replace;
  if (profile) {
    if (profile->filter.get() != &nf)
      throw py::value_error("the profile was created for another filter");
    o->options.profile = profile->profile.get();
    o->profile = std::move(profile);
  }
  return o;
}

// ---- conversation QA (scriptqa/conversation.h) -------------------------------------------------

struct NativeScorecard {
  std::shared_ptr<const sq::Scorecard> card;
};

std::shared_ptr<NativeScorecard> WrapScorecard(absl::StatusOr<std::shared_ptr<const sq::Scorecard>> card) {
  if (!card.ok()) ThrowStatus(card.status());
  auto out = std::make_shared<NativeScorecard>();
  out->card = *std::move(card);
  return out;
}

// A str or bytes value as UTF-8 (a str with a lone surrogate was encoded by the Python layer).
std::string Utf8Of(py::handle v) {
  if (PyBytes_Check(v.ptr())) return std::string(PyBytes_AS_STRING(v.ptr()), PyBytes_GET_SIZE(v.ptr()));
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(v.ptr(), &n);
  if (!p) throw py::error_already_set();
  return std::string(p, n);
}

// One conversation audit over columns the Python layer prepared (one entry per message, in input
// order): conversation ids (str), roles (0 agent, 1 customer, 2 other), texts (str or bytes),
// turn numbers and times in epoch ms (int or None), agent and shop ids (str or None). Scans the
// agent messages with the filter and `o`, reads the cues, groups and scores the conversations
// (ConversationAudit, as the CLI). Returns (rows: list of JSON strings, summary: serialized).
py::tuple AuditConversations(NativeFilter& nf, const NativeScorecard& sc, const NativeOptions& o,
                             py::list convs, py::list roles, py::list texts, py::list turns, py::list times,
                             py::list agents, py::list shops, bool mask, const std::string& zone_name,
                             const std::string& timestamp_field, size_t worst) {
  const size_t n = static_cast<size_t>(py::len(convs));
  for (py::list l : {roles, texts, turns, times, agents, shops})
    if (static_cast<size_t>(py::len(l)) != n) throw py::value_error("audit_conversations: columns differ in length");
  absl::StatusOr<absl::TimeZone> zone = sq::ParseTimeZone(zone_name);
  if (!zone.ok()) throw py::value_error(std::string(zone.status().message()));
  std::vector<std::string> conv(n), text(n), agent(n), shop(n);
  std::vector<sq::Role> role(n);
  std::vector<int64_t> turn(n, sq::kNoTurnNumber), time(n, sq::kNoTime);
  for (size_t i = 0; i < n; ++i) {
    conv[i] = Utf8Of(convs[i]);
    int r = roles[i].cast<int>();
    role[i] = r == 0 ? sq::Role::kAgent : r == 1 ? sq::Role::kCustomer : sq::Role::kOther;
    text[i] = Utf8Of(texts[i]);
    if (!turns[i].is_none()) turn[i] = turns[i].cast<int64_t>();
    if (!times[i].is_none()) time[i] = times[i].cast<int64_t>();
    if (!agents[i].is_none()) agent[i] = Utf8Of(agents[i]);
    if (!shops[i].is_none()) shop[i] = Utf8Of(shops[i]);
  }
  std::vector<std::string> rows;
  std::string state;
  absl::Status status;
  {
    NoGil nogil;
    status = [&]() -> absl::Status {
      sq::ScanOptions options = o.options;
      options.invalid_utf8 = sq::InvalidUtf8::kRepair;  // texts are UTF-8 or repaired, as the CLI's
      absl::StatusOr<sq::Scanner> scanner = sq::Scanner::Create(nf.filter);
      if (!scanner.ok()) return scanner.status();
      absl::StatusOr<sq::TurnAnalyzer> analyzer = sq::TurnAnalyzer::Create(sc.card, sq::TurnOptions{true, mask});
      if (!analyzer.ok()) return analyzer.status();
      sq::AuditOptions ao;
      ao.mask = mask;
      ao.zone = *zone;
      ao.summary.timestamp_field = timestamp_field;
      ao.summary.worst = worst;
      absl::StatusOr<sq::ConversationAudit> audit = sq::ConversationAudit::Create(sc.card, nf.filter, ao);
      if (!audit.ok()) return audit.status();
      // The agent messages' findings, one engine pass per 64 KiB of them.
      std::vector<std::string_view> agent_texts;
      std::vector<size_t> agent_at;
      for (size_t i = 0; i < n; ++i)
        if (role[i] == sq::Role::kAgent) agent_texts.push_back(text[i]), agent_at.push_back(i);
      std::vector<std::vector<sq::Finding>> found(agent_texts.size());
      absl::Status st = scanner->ScanBatch(agent_texts, options,
                                           [&](size_t k, const absl::Status&, absl::Span<const sq::Finding> fs) {
                                             found[k].assign(fs.begin(), fs.end());
                                           });
      if (!st.ok()) return st;
      std::vector<sq::Message> messages(n);
      for (size_t i = 0; i < n; ++i)
        messages[i] = sq::Message{role[i], text[i], time[i], turn[i], agent[i], shop[i], {}};
      for (size_t k = 0; k < agent_at.size(); ++k) messages[agent_at[k]].findings = found[k];
      std::vector<sq::Turn> analysed(n);
      st = analyzer->AnalyzeBatch(messages, absl::MakeSpan(analysed));
      if (!st.ok()) return st;
      auto row = [&](const sq::ConversationResult& r) { rows.push_back(r.ToJson()); };
      for (size_t i = 0; i < n; ++i) audit->Add(conv[i], std::move(analysed[i]), row);
      audit->Finish(row);
      state = audit->summary().Serialize();
      return absl::OkStatus();
    }();
  }
  if (!status.ok()) ThrowStatus(status);
  py::list out_rows(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) PyList_SET_ITEM(out_rows.ptr(), i, NewStr(rows[i]));
  return py::make_tuple(out_rows, py::bytes(state));
}

// The summary JSON of one or more serialized summaries (parts of one audit), merged.
py::str ConversationSummaryJson(const NativeScorecard& sc, py::list states, const std::string& timestamp_field,
                                size_t worst) {
  sq::SummaryOptions options;
  options.timestamp_field = timestamp_field;
  options.worst = worst;
  sq::ConversationSummary all(sc.card, options);
  for (py::handle h : states) {
    std::string bytes = h.cast<std::string>();
    absl::StatusOr<sq::ConversationSummary> part = sq::ConversationSummary::Deserialize(sc.card, bytes, options);
    if (!part.ok()) ThrowStatus(part.status());
    absl::Status st = all.Merge(*part);
    if (!st.ok()) ThrowStatus(st);
  }
  return Str(all.ToJson());
}

void Register(py::handle finding_type, py::sequence severities, py::object translate) {
  PyObject* t = finding_type.ptr();
  if (!PyType_Check(t) || !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(t), &PyTuple_Type))
    throw py::type_error("Finding must be a tuple subclass");
  auto* tp = reinterpret_cast<PyTypeObject*>(t);
  // Allocated with tp_alloc and filled in place: it must be laid out exactly like a tuple
  // (a NamedTuple has __slots__ = (), so no __dict__ and no extra fields).
  if (tp->tp_basicsize != PyTuple_Type.tp_basicsize || tp->tp_itemsize != PyTuple_Type.tp_itemsize ||
      tp->tp_dictoffset != 0)
    throw py::type_error("Finding must be laid out like a tuple (a NamedTuple with no extra slots)");
  py::tuple fields = py::getattr(finding_type, "_fields");
  static const char* kExpected[kFindingFields] = {"rule",     "category", "severity", "start",
                                                  "end",      "byte_start", "byte_end", "matched",
                                                  "suggestions", "reason", "masked"};
  if (fields.size() != kFindingFields) throw py::type_error("Finding has the wrong fields");
  for (Py_ssize_t i = 0; i < kFindingFields; ++i)
    if (fields[i].cast<std::string>() != kExpected[i])
      throw py::type_error("Finding has the wrong fields");
  if (py::len(severities) != 3) throw py::type_error("three severities expected");
  Py_INCREF(t);
  Py_XDECREF(reinterpret_cast<PyObject*>(g_types.finding));
  g_types.finding = tp;
  for (int i = 0; i < 3; ++i) {
    PyObject* s = severities[i].ptr();
    Py_INCREF(s);
    Py_XSETREF(g_types.severity[i], s);
  }
  Py_XSETREF(g_types.translate, translate.release().ptr());
}

PYBIND11_MODULE(_scriptqa, m) {
  m.doc() = "Private extension module of the scriptqa package; use `import scriptqa` instead.";

  g_status_error = PyErr_NewException("scriptqa._scriptqa.StatusError", PyExc_Exception, nullptr);
  g_encode_error = PyErr_NewException("scriptqa._scriptqa.EncodeError", PyExc_ValueError, nullptr);
  if (!g_status_error || !g_encode_error) throw py::error_already_set();
  m.attr("StatusError") = py::handle(g_status_error);
  m.attr("EncodeError") = py::handle(g_encode_error);

  pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); });

  g_bound_scan_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&g_bound_scan_spec));
  if (!g_bound_scan_type) throw py::error_already_set();
  m.attr("BoundScan") = py::handle(reinterpret_cast<PyObject*>(g_bound_scan_type));

  g_scan_method_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&g_scan_method_spec));
  if (!g_scan_method_type) throw py::error_already_set();
  m.attr("ScanMethod") = py::handle(reinterpret_cast<PyObject*>(g_scan_method_type));

  m.def("_register", &Register);
  m.def("bind", &Bind);
  m.def("scan_method", &MakeScanMethod);
  m.def("default_dictionary_dir", [] { return sq::Filter::DefaultDictionaryDir(); });
  m.def("default_limits", &DefaultLimits);
  m.def("render_suggestion", [](const std::string& templ, const std::string& matched) {
    return Str(sq::RenderSuggestion(templ, matched));
  });

  // Labelled-set evaluation (scriptqa.evaluate): the library parses and scores; Python only
  // decodes the JSON report. Returns (report as JSON, report as text).
  m.def("evaluate_jsonl", [](const NativeFilter& f, const std::string& content,
                             const std::string& name, int flag_at, size_t max_listed) {
    absl::Status st;
    std::string json, text;
    {
      NoGil nogil;
      auto cases = sq::ParseLabelledJsonl(content, name);
      if (!cases.ok()) {
        st = cases.status();
      } else {
        auto scanner = sq::Scanner::Create(f.filter);
        if (!scanner.ok()) {
          st = scanner.status();
        } else {
          sq::EvalOptions options;
          options.flag_at = static_cast<sq::Severity>(flag_at);
          auto report = sq::Evaluate(*scanner, *cases, options);
          if (!report.ok()) {
            st = report.status();
          } else {
            json = report->ToJson(*cases);
            text = report->ToString(*cases, max_listed);
          }
        }
      }
    }
    if (!st.ok()) ThrowStatus(st);
    return py::make_tuple(Str(json), Str(text));
  });

  py::class_<NativeFilter, std::shared_ptr<NativeFilter>>(m, "NativeFilter")
      .def_static("compile", &Compile, py::arg("sources"), py::arg("normalization"),
                  py::arg("severity_overrides"), py::arg("disabled_rules"),
                  py::arg("limits") = py::none())
      .def_static("deserialize", &Deserialize)
      .def("serialize", &Serialize)
      .def("save_file",
           [](const NativeFilter& self, const std::string& path) {
             absl::Status st;
             {
               NoGil nogil;
               st = self.filter->SaveFile(path);
             }
             if (!st.ok()) ThrowStatus(st);
           })
      .def("rules", &Rules)
      .def("categories", [](const NativeFilter& f) { return StrList(f.filter->categories()); })
      .def("info",
           [](const NativeFilter& f) {
             const sq::FilterInfo& i = f.filter->info();
             return py::make_tuple(i.rule_count, i.literal_count, i.regex_count, i.rules_hash,
                                   Str(i.engine_version), i.database_bytes);
           })
      .def("normalization",
           [](const NativeFilter& f) {
             const sq::NormalizationOptions& n = f.filter->normalization();
             return py::make_tuple(n.fold_width, n.fold_case, n.traditional_to_simplified,
                                   n.skip_noise, Str(n.significant), Str(n.extra_noise),
                                   n.collapse_repeats);
           })
      .def("normalize",
           [](const NativeFilter& f, py::handle text, bool replace) {
             TextRef t;
             CaptureOrThrow(text.ptr(), &t);
             std::string buf, out;
             std::string_view view;
             Py_ssize_t bad;
             {
               NoGil nogil;
               bad = Encode(t, replace, &buf, &view);
               if (bad < 0) out = f.filter->Normalize(view);
             }
             if (bad >= 0) ThrowEncode(-1, bad);
             return Str(out);
           })
      .def("options", &MakeOptions)
      .def("profile", &MakeProfile)
      .def("scan", &Scan)
      .def("has_finding", &HasFinding)
      .def("mask", &Mask)
      .def("rewrite", &Rewrite)
      .def("explain", &Explain)
      .def("scan_many", &ScanMany);

  py::class_<NativeScorecard, std::shared_ptr<NativeScorecard>>(m, "NativeScorecard")
      .def_static("from_file",
                  [](const std::string& path) {
                    absl::StatusOr<std::shared_ptr<const sq::Scorecard>> c;
                    {
                      NoGil nogil;
                      c = sq::Scorecard::FromFile(path);
                    }
                    return WrapScorecard(std::move(c));
                  })
      .def_static("from_text",
                  [](const std::string& text, const std::string& name, const std::string& base_dir) {
                    absl::StatusOr<std::shared_ptr<const sq::Scorecard>> c;
                    {
                      NoGil nogil;
                      c = sq::Scorecard::FromText(text, name, base_dir);
                    }
                    return WrapScorecard(std::move(c));
                  })
      .def_static("default_path", [] { return sq::Scorecard::DefaultPath(); })
      .def("to_json", [](const NativeScorecard& s) { return Str(s.card->ToJson()); });
  m.def("audit_conversations", &AuditConversations);
  m.def("conversation_summary", &ConversationSummaryJson);
  m.def("parse_timestamp", [](py::handle value, const std::string& zone_name) -> py::object {
    absl::StatusOr<absl::TimeZone> zone = sq::ParseTimeZone(zone_name);
    if (!zone.ok()) throw py::value_error(std::string(zone.status().message()));
    absl::StatusOr<int64_t> t = PyFloat_Check(value.ptr()) || PyLong_Check(value.ptr())
                                    ? sq::EpochToMillis(value.cast<double>())
                                    : sq::ParseTimestamp(Utf8Of(value), *zone);
    if (!t.ok()) return py::none();
    return py::int_(*t);
  });
  py::class_<NativeStream, std::shared_ptr<NativeStream>>(m, "NativeStream")
      .def(py::init(&MakeStream), py::arg("filter"), py::arg("options"), py::arg("min_scan_bytes"))
      .def("write", [](NativeStream& s, py::object chunk) {
        if (chunk.is_none()) throw py::type_error("expected str or bytes, got None");
        return StreamStep(s, chunk);
      })
      .def("finish", [](NativeStream& s) { return StreamStep(s, py::none()); })
      .def("reset", &StreamReset)
      .def("text", [](NativeStream& s) {
        StreamBusy busy(s);
        return StreamText(s, s.stream->text());
      })
      .def("findings", [](NativeStream& s) {
        RequireRegistered();
        StreamBusy busy(s);
        return StreamFindings(s, s.stream->findings());
      })
      .def("releasable", [](NativeStream& s) { return s.released; })
      .def("finished", [](NativeStream& s) { return s.stream->finished(); });

  py::class_<NativeProfile, std::shared_ptr<NativeProfile>>(m, "NativeProfile");
  py::class_<NativeOptions, std::shared_ptr<NativeOptions>>(m, "NativeOptions");
}

}  // namespace scriptqa_python

/* scriptqa/scriptqa.h — the C API (C99), for servers written in C, Go (cgo), Rust (FFI), ...
 *
 *   scriptqa_rules* rules = NULL;
 *   scriptqa_error* err = NULL;
 *   if (scriptqa_rules_load_default(&rules, &err) != SCRIPTQA_OK) {
 *     fprintf(stderr, "%s\n", scriptqa_error_message(err));
 *     scriptqa_error_free(err);
 *     return 1;
 *   }
 *   scriptqa_scanner* scanner = NULL;                 // one per thread
 *   scriptqa_scanner_new(rules, &scanner, NULL);
 *   const scriptqa_finding* f;
 *   size_t n;
 *   if (scriptqa_scan(scanner, msg, strlen(msg), NULL, &f, &n, NULL) == SCRIPTQA_OK)
 *     for (size_t i = 0; i < n; ++i)
 *       printf("%s [%zu,%zu) -> %s\n", f[i].rule_id, f[i].byte_begin, f[i].byte_end,
 *              f[i].suggestion);
 *   scriptqa_scanner_free(scanner);
 *   scriptqa_rules_free(rules);                        // after every scanner and stream is freed
 *
 * Objects (all opaque; each *_new / *_load has its *_free, which accepts NULL):
 *   scriptqa_rules    the current rules of a process and its named per-shop profiles; reloadable
 *                     while in use (scriptqa_rules_reload_*). Thread-safe.
 *   scriptqa_scanner  checks whole messages; one per thread. Follows reloads: each scan uses the
 *                     rules current when it starts (one atomic load to find out).
 *   scriptqa_stream   checks one message while it is written (LLM tokens); reusable for the next
 *                     message with scriptqa_stream_reset. Not thread-safe, but may be used by
 *                     different threads one after another. A message finishes on the rules it
 *                     started with, even across a reload.
 *
 * Errors: every function that can fail returns a scriptqa_code (SCRIPTQA_OK == 0). When `err` is
 * not NULL and the call fails, *err receives an error object with the code and a message (free it
 * with scriptqa_error_free); on success *err is left untouched. No C++ exception crosses this API
 * and nothing is ever printed; misuse that can be detected (NULL arguments, a scanner used from
 * two threads at once) returns an error instead of crashing.
 *
 * Strings: input text is UTF-8 with an explicit length (it may contain NUL bytes); invalid UTF-8
 * is repaired unless reject_invalid_utf8 is set. Output strings are NUL-terminated UTF-8.
 * Offsets: byte offsets are half-open [begin, end) into the caller's text; character offsets
 * count code points (an invalid sequence counts as one), as Python's str does.
 * Lifetimes: findings and strings returned by a scanner or stream belong to it and stay valid
 * until the next call on that scanner or stream (or its free).
 */
#ifndef SCRIPTQA_SCRIPTQA_H_
#define SCRIPTQA_SCRIPTQA_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SCRIPTQA_C_API
#elif defined(__GNUC__)
#define SCRIPTQA_C_API __attribute__((visibility("default")))
#else
#define SCRIPTQA_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented when functions or types are added (existing ones never change, so a program built
 * against an older version keeps working); test it with #if to use an addition.
 *   1  the first C API
 *   2  scriptqa_compile_limits, scriptqa_compile_limits_init, scriptqa_rules_load_files_limited,
 *      scriptqa_rules_load_text_limited, scriptqa_rules_set_compile_limits
 *   3  scriptqa_trace, scriptqa_explain */
#define SCRIPTQA_C_API_VERSION 3

/* The same numbers as absl::StatusCode (and gRPC). */
typedef enum scriptqa_code {
  SCRIPTQA_OK = 0,
  SCRIPTQA_UNKNOWN = 2,
  SCRIPTQA_INVALID_ARGUMENT = 3,     /* bad dictionary, bad profile, invalid UTF-8 rejected, NULL */
  SCRIPTQA_NOT_FOUND = 5,            /* missing file, unknown profile name */
  SCRIPTQA_PERMISSION_DENIED = 7,    /* cannot write a file */
  SCRIPTQA_RESOURCE_EXHAUSTED = 8,   /* out of memory */
  SCRIPTQA_FAILED_PRECONDITION = 9,  /* database for another engine/CPU; misuse of an object */
  SCRIPTQA_INTERNAL = 13,            /* engine failure (never expected) */
  SCRIPTQA_DATA_LOSS = 15            /* damaged database file */
} scriptqa_code;

typedef enum scriptqa_severity {
  SCRIPTQA_ADVICE = 0,  /* script-quality hint */
  SCRIPTQA_REVIEW = 1,  /* rephrase before sending */
  SCRIPTQA_BLOCK = 2    /* must not be sent */
} scriptqa_severity;

typedef struct scriptqa_error scriptqa_error;
typedef struct scriptqa_rules scriptqa_rules;
typedef struct scriptqa_scanner scriptqa_scanner;
typedef struct scriptqa_stream scriptqa_stream;

/* The library version, e.g. "0.1.0 (engine 5.4.9 ...)". Static storage. */
SCRIPTQA_C_API const char* scriptqa_version(void);

SCRIPTQA_C_API scriptqa_code scriptqa_error_code(const scriptqa_error* err);
/* "" for NULL. Valid until scriptqa_error_free. */
SCRIPTQA_C_API const char* scriptqa_error_message(const scriptqa_error* err);
SCRIPTQA_C_API void scriptqa_error_free(scriptqa_error* err);

/* ---- Rules ---------------------------------------------------------------------------------- */

/* The default packs (see scriptqa::Filter::Default: $SCRIPTQA_DICTIONARIES, else the source
 * tree's or the installed ones). */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_default(scriptqa_rules** out, scriptqa_error** err);
/* Rule files or term lists (kind from each file's %format line). */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_files(const char* const* paths, size_t count,
                                                       scriptqa_rules** out, scriptqa_error** err);
/* One dictionary held in memory; `name` is used in error messages. */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_text(const char* name, const char* text,
                                                      size_t length, scriptqa_rules** out,
                                                      scriptqa_error** err);

/* Bounds on what dictionaries may ask the engine to compile (scriptqa::CompileLimits), so that a
 * dictionary edited by hand or a reload pushed by an operator cannot hold a compile for minutes or
 * exhaust memory. They are checked before anything is compiled; a dictionary past one fails with
 * SCRIPTQA_INVALID_ARGUMENT naming the rule (file:line) and the field to raise, e.g.
 * "...; raise it with scriptqa_compile_limits.max_regexes (0 lifts it)". 0 lifts a bound.
 * Raising one is safe for dictionaries you trust; it only costs compile time and memory.
 *
 * | field                 | default | bounds                                                    |
 * |-----------------------|---------|-----------------------------------------------------------|
 * | max_regex_bytes       | 1024    | source bytes of one regex                                 |
 * | max_regexes           | 1000    | regexes in the rules                                      |
 * | max_total_regex_bytes | 32768   | source bytes of all regexes together                      |
 * | max_literals          | 200000  | literal patterns in the rules (after normalisation)       |
 *
 * Always start from scriptqa_compile_limits_init (a later version may change the defaults):
 *
 *   scriptqa_compile_limits limits;
 *   scriptqa_compile_limits_init(&limits);
 *   limits.max_regexes = 5000;
 *   if (scriptqa_rules_load_files_limited(paths, n, &limits, &rules, &err) != SCRIPTQA_OK) ...
 *
 * Loading a serialized database compiles nothing, so no bound applies to it. */
typedef struct scriptqa_compile_limits {
  size_t max_regex_bytes;
  size_t max_regexes;
  size_t max_total_regex_bytes;
  size_t max_literals;
} scriptqa_compile_limits;

/* Fills *limits with the library's defaults (the table above). NULL: does nothing. */
SCRIPTQA_C_API void scriptqa_compile_limits_init(scriptqa_compile_limits* limits);
/* As scriptqa_rules_load_files / scriptqa_rules_load_text, compiling with `limits` (copied; NULL:
 * the defaults). The handle remembers them: scriptqa_rules_reload_files and
 * scriptqa_rules_reload_text on it compile with the same bounds until
 * scriptqa_rules_set_compile_limits changes them. */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_files_limited(const char* const* paths,
                                                               size_t count,
                                                               const scriptqa_compile_limits* limits,
                                                               scriptqa_rules** out,
                                                               scriptqa_error** err);
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_text_limited(const char* name, const char* text,
                                                              size_t length,
                                                              const scriptqa_compile_limits* limits,
                                                              scriptqa_rules** out,
                                                              scriptqa_error** err);

/* A serialized database (scriptqa_rules_save_database, or `scriptqa compile`): milliseconds. */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_load_database(const char* path, scriptqa_rules** out,
                                                          scriptqa_error** err);
SCRIPTQA_C_API scriptqa_code scriptqa_rules_save_database(const scriptqa_rules* rules,
                                                          const char* path, scriptqa_error** err);
/* Frees the handle. Scanners and streams made from it must be freed first. */
SCRIPTQA_C_API void scriptqa_rules_free(scriptqa_rules* rules);

/* Reload: builds the new rules (and every profile for them), then swaps them in atomically.
 * On failure nothing changes. *generation (may be NULL) receives the new generation.
 * reload_files and reload_text compile with the handle's compile limits: those given to
 * scriptqa_rules_load_*_limited or set since with scriptqa_rules_set_compile_limits; the
 * defaults for a handle from any other load. */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_reload_database(scriptqa_rules* rules, const char* path,
                                                            uint64_t* generation,
                                                            scriptqa_error** err);
SCRIPTQA_C_API scriptqa_code scriptqa_rules_reload_files(scriptqa_rules* rules,
                                                         const char* const* paths, size_t count,
                                                         uint64_t* generation, scriptqa_error** err);
SCRIPTQA_C_API scriptqa_code scriptqa_rules_reload_text(scriptqa_rules* rules, const char* name,
                                                        const char* text, size_t length,
                                                        uint64_t* generation, scriptqa_error** err);
/* Sets the compile limits later scriptqa_rules_reload_files / scriptqa_rules_reload_text on this
 * handle compile with (copied; NULL: the defaults). Changes nothing else: the current rules stay
 * and the generation does not change. Thread-safe: may be called while other threads scan and
 * reload; a reload already under way keeps the limits it started with. */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_set_compile_limits(scriptqa_rules* rules,
                                                               const scriptqa_compile_limits* limits,
                                                               scriptqa_error** err);
/* Starts at 1; +1 per successful reload or profile change. */
SCRIPTQA_C_API uint64_t scriptqa_rules_generation(const scriptqa_rules* rules);
/* Number of rules currently loaded. */
SCRIPTQA_C_API size_t scriptqa_rules_count(const scriptqa_rules* rules);

/* Per-shop configuration, by name, applied per scan at the cost of a few table look-ups per raw
 * hit. Zero-initialise and fill what you need; lists are arrays of NUL-terminated strings. */
typedef struct scriptqa_profile_options {
  const char* const* enabled_categories; /* empty: all categories */
  size_t enabled_categories_count;
  const char* const* disabled;           /* rule ids or category ids */
  size_t disabled_count;
  const char* const* severity_targets;   /* rule or category ids ... */
  const scriptqa_severity* severity_values; /* ... and their severities */
  size_t severity_count;
  const char* const* allow_terms;        /* a hit inside one of these is suppressed */
  size_t allow_terms_count;
  const char* const* deny_terms;         /* extra terms, reported as rule "<deny_category>.shop_deny" */
  size_t deny_terms_count;
  const char* deny_category;             /* NULL: "shop" */
  scriptqa_severity deny_severity;       /* 0 (ADVICE) is taken as the default REVIEW unless */
  int deny_severity_set;                 /* ... this is non-zero */
  const char* deny_reason;               /* NULL: the default reason */
} scriptqa_profile_options;

/* Adds or replaces the profile `name` (validated now against the current rules; rebuilt by every
 * reload, which fails if the profile no longer fits). */
SCRIPTQA_C_API scriptqa_code scriptqa_rules_set_profile(scriptqa_rules* rules, const char* name,
                                                        const scriptqa_profile_options* options,
                                                        uint64_t* generation, scriptqa_error** err);
SCRIPTQA_C_API scriptqa_code scriptqa_rules_remove_profile(scriptqa_rules* rules, const char* name,
                                                           uint64_t* generation,
                                                           scriptqa_error** err);

/* ---- Scanning ------------------------------------------------------------------------------- */

/* Zero-initialise for the defaults (or pass NULL). */
typedef struct scriptqa_scan_options {
  scriptqa_severity min_severity; /* findings below are not reported; default ADVICE */
  int overlap_all;                /* 0: leftmost-longest per category; 1: every confirmed hit */
  int reject_invalid_utf8;        /* 0: repair (U+FFFD); 1: fail with INVALID_ARGUMENT */
  const char* profile;            /* NULL or "": none; else a name set with scriptqa_rules_set_profile */
} scriptqa_scan_options;

typedef struct scriptqa_finding {
  const char* rule_id;    /* e.g. "ad_law.best" */
  const char* category;   /* e.g. "ad_law" */
  const char* reason;     /* why, quotable */
  const char* suggestion; /* the first suggestion rendered for this match; "" when none */
  const char* text;       /* the matched original text (a NUL-terminated copy) */
  scriptqa_severity severity;
  size_t byte_begin, byte_end; /* [begin, end) in the message */
  size_t char_begin, char_end; /* in code points */
} scriptqa_finding;

SCRIPTQA_C_API scriptqa_code scriptqa_scanner_new(scriptqa_rules* rules, scriptqa_scanner** out,
                                                  scriptqa_error** err);
SCRIPTQA_C_API void scriptqa_scanner_free(scriptqa_scanner* scanner);

/* Checks one message. *findings (owned by the scanner) and *count receive the findings, in order
 * of position. */
SCRIPTQA_C_API scriptqa_code scriptqa_scan(scriptqa_scanner* scanner, const char* text,
                                           size_t length, const scriptqa_scan_options* options,
                                           const scriptqa_finding** findings, size_t* count,
                                           scriptqa_error** err);
/* Applies the suggestions (re-checked; what still is block/review is masked). *out / *out_length
 * receive the new text (owned by the scanner; at most 4 * length + 4096 bytes, as
 * scriptqa::MaxRewriteBytes), *clean (may be NULL) whether it is clean. */
SCRIPTQA_C_API scriptqa_code scriptqa_rewrite(scriptqa_scanner* scanner, const char* text,
                                              size_t length, const scriptqa_scan_options* options,
                                              const char** out, size_t* out_length, int* clean,
                                              scriptqa_error** err);

/* Every raw hit of the matcher in a message and what became of it (SCRIPTQA_C_API_VERSION 3),
 * for debugging rules and settling QA disputes. */
typedef struct scriptqa_trace {
  const char* rule_id;
  const char* category;
  const char* decision; /* "reported", "allow_context", "negated", "missing_context", "speech_act",
                           "overlapped", "disabled", ... (scriptqa::DecisionName) */
  const char* detail;   /* what suppressed it (e.g. the allow-context or cue); "" when reported */
  size_t byte_begin, byte_end; /* [begin, end) in the message */
  size_t char_begin, char_end; /* in code points */
} scriptqa_trace;

/* As scriptqa_scan, and every raw hit: *traces / *trace_count receive the hits in order of
 * position, *findings / *count the findings (as scriptqa_scan gives them), *normalized (may be
 * NULL) the text the matcher saw (NUL-terminated; *normalized_length, may be NULL, its length).
 * All owned by the scanner, valid until its next call. The output shows personal data as it is in
 * the message: mask it (as scriptqa_scan's findings) before it leaves the process. */
SCRIPTQA_C_API scriptqa_code scriptqa_explain(scriptqa_scanner* scanner, const char* text,
                                              size_t length, const scriptqa_scan_options* options,
                                              const scriptqa_trace** traces, size_t* trace_count,
                                              const scriptqa_finding** findings, size_t* count,
                                              const char** normalized, size_t* normalized_length,
                                              scriptqa_error** err);

/* ---- Streaming ------------------------------------------------------------------------------ */

typedef struct scriptqa_stream_update {
  /* The message's bytes [0, releasable) may be shown: every finding touching them has been
   * reported. Never decreases; equals the message length after finish. */
  size_t releasable;
  const scriptqa_finding* new_findings; /* became certain in this call (owned by the stream) */
  size_t new_count;
  int finished;
} scriptqa_stream_update;

/* A stream for one message at a time. `min_scan_bytes` batches engine calls (0: every chunk;
 * the C++ default is 48). */
SCRIPTQA_C_API scriptqa_code scriptqa_stream_new(scriptqa_rules* rules,
                                                 const scriptqa_scan_options* options,
                                                 size_t min_scan_bytes, scriptqa_stream** out,
                                                 scriptqa_error** err);
SCRIPTQA_C_API void scriptqa_stream_free(scriptqa_stream* stream);
/* Appends a chunk of the message (split anywhere, even inside a UTF-8 character). */
SCRIPTQA_C_API scriptqa_code scriptqa_stream_write(scriptqa_stream* stream, const char* chunk,
                                                   size_t length, scriptqa_stream_update* update,
                                                   scriptqa_error** err);
/* Ends the message. Afterwards all findings equal those of scriptqa_scan on the whole message. */
SCRIPTQA_C_API scriptqa_code scriptqa_stream_finish(scriptqa_stream* stream,
                                                    scriptqa_stream_update* update,
                                                    scriptqa_error** err);
/* Every finding of the current message reported so far (after finish: all, in position order). */
SCRIPTQA_C_API scriptqa_code scriptqa_stream_findings(scriptqa_stream* stream,
                                                      const scriptqa_finding** findings,
                                                      size_t* count, scriptqa_error** err);
/* The message so far (not NUL-terminated). */
SCRIPTQA_C_API const char* scriptqa_stream_text(const scriptqa_stream* stream, size_t* length);
/* Discards the current message and starts the next one on the rules current now (options NULL:
 * keep the previous ones). */
SCRIPTQA_C_API scriptqa_code scriptqa_stream_reset(scriptqa_stream* stream,
                                                   const scriptqa_scan_options* options,
                                                   scriptqa_error** err);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* SCRIPTQA_SCRIPTQA_H_ */

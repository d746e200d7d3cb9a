/* The C API from C99: loading, errors, compile limits, scanning, rewriting, profiles, reload,
 * streaming, and scanning from threads while the rules are reloaded and their limits changed. Registered with CTest; a failed check
 * prints file:line and the test exits non-zero. */
#define _POSIX_C_SOURCE 200809L /* getpid */

#include "scriptqa/scriptqa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

/* The error in `err` says `needle`; frees it and resets err for the next call. */
#define CHECK_ERROR_HAS(needle)                                      \
  do {                                                               \
    CHECK(strstr(scriptqa_error_message(err), (needle)) != NULL);    \
    scriptqa_error_free(err);                                        \
    err = NULL;                                                      \
  } while (0)

/* Runs `call`, which may pass &e_ to receive the error; reports a failure with its message. */
#define CHECK_OK(call)                                                                  \
  do {                                                                                  \
    scriptqa_error* e_ = NULL;                                                          \
    scriptqa_code c_ = (call);                                                          \
    if (c_ != SCRIPTQA_OK) {                                                            \
      fprintf(stderr, "%s:%d: %s failed (%d): %s\n", __FILE__, __LINE__, #call, (int)c_, \
              scriptqa_error_message(e_));                                              \
      ++failures;                                                                       \
    }                                                                                   \
    scriptqa_error_free(e_);                                                            \
  } while (0)

static const char kRulesA[] =
    "%format scriptqa-rules 1\n"
    "%default category ad_law\n"
    "%default severity review\n"
    "rule ad_law.best\n"
    "  literal 最佳\n"
    "  suggest 品质出众的\n"
    "  reason 绝对化用语\n"
    "  allow 最佳食用时间\n"
    "rule off_platform.wechat\n"
    "  category off_platform\n"
    "  severity block\n"
    "  literal 加微信\n"
    "  suggest 在平台内联系\n"
    "  reason 引导站外交易\n";

static const char kRulesB[] =
    "%format scriptqa-rules 1\n"
    "%default category ad_law\n"
    "%default severity review\n"
    "rule ad_law.top\n"
    "  literal 顶级\n"
    "  reason 绝对化用语\n";

static int has_rule(const scriptqa_finding* f, size_t n, const char* id) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (strcmp(f[i].rule_id, id) == 0) return 1;
  return 0;
}

static void test_errors(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_error* err = NULL;
  const char* missing[] = {"/nonexistent/scriptqa/x.rules"};
  /* Dictionary problems, a missing file included, are reported together as INVALID_ARGUMENT. */
  CHECK(scriptqa_rules_load_files(missing, 1, &rules, &err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(rules == NULL);
  CHECK(scriptqa_error_code(err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("/nonexistent/scriptqa/x.rules");

  /* A rule without a reason: the message names the file and line. */
  {
    const char bad[] = "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
                       "rule ad_law.x\n  literal 最\n";
    CHECK(scriptqa_rules_load_text("bad.rules", bad, sizeof bad - 1, &rules, &err) ==
          SCRIPTQA_INVALID_ARGUMENT);
    CHECK_ERROR_HAS("bad.rules:4");
  }
  CHECK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), NULL, NULL) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(scriptqa_rules_load_database("/nonexistent/db", &rules, NULL) == SCRIPTQA_NOT_FOUND);
  CHECK(scriptqa_scanner_new(NULL, NULL, NULL) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(strcmp(scriptqa_error_message(NULL), "") == 0);
  scriptqa_rules_free(NULL);
  scriptqa_scanner_free(NULL);
  scriptqa_stream_free(NULL);
  scriptqa_error_free(NULL);
  CHECK(strlen(scriptqa_version()) > 0);
}

/* `n` rules of one small regex each ("w<i>[xy]", with a hit and a miss example), as the CLI test's
 * ManyRegexRules: past the default bound of 1,000 regexes from n = 1,001. Free the result. */
static char* many_regex_rules(int n, size_t* length) {
  const char header[] = "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n";
  size_t cap = sizeof header + (size_t)n * 96, len;
  int i;
  char* d = (char*)malloc(cap);
  if (!d) return NULL;
  len = (size_t)snprintf(d, cap, "%s", header);
  for (i = 0; i < n; ++i)
    len += (size_t)snprintf(d + len, cap - len,
                            "rule p.r%d\n  regex w%d[xy]\n  reason r\n  hit w%dx\n  miss w%dz\n", i, i,
                            i, i);
  *length = len;
  return d;
}

static size_t count_of(const char* haystack, const char* needle) {
  size_t n = 0;
  const char* p = haystack;
  while ((p = strstr(p, needle)) != NULL) {
    ++n;
    p += strlen(needle);
  }
  return n;
}

/* Whether a scanner of `rules` finds exactly rule p.r1000 in a message containing "w1000y". */
static int finds_r1000(scriptqa_rules* rules) {
  scriptqa_scanner* scanner = NULL;
  const scriptqa_finding* f = NULL;
  size_t n = 0;
  int found = 0;
  if (scriptqa_scanner_new(rules, &scanner, NULL) != SCRIPTQA_OK) return 0;
  if (scriptqa_scan(scanner, "ok w1000y", strlen("ok w1000y"), NULL, &f, &n, NULL) == SCRIPTQA_OK)
    found = n == 1 && strcmp(f[0].rule_id, "p.r1000") == 0;
  scriptqa_scanner_free(scanner);
  return found;
}

static void test_compile_limits(void) {
  const char hint[] = "; raise it with scriptqa_compile_limits.max_regexes (0 lifts it)";
  scriptqa_compile_limits limits;
  scriptqa_rules* rules = NULL;
  scriptqa_error* err = NULL;
  size_t big_len = 0, small_len = 0;
  char* big = many_regex_rules(1001, &big_len);
  char* small = many_regex_rules(3, &small_len);
  char path[256];
  const char* paths[1];
  uint64_t gen = 0;
  FILE* fp;
  CHECK(big != NULL && small != NULL);
  if (!big || !small) {
    free(big);
    free(small);
    return;
  }
  snprintf(path, sizeof path, "%s/scriptqa_c_test_%ld.rules",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
  paths[0] = path;
  fp = fopen(path, "wb");
  CHECK(fp != NULL);
  if (fp) {
    fwrite(big, 1, big_len, fp);
    fclose(fp);
  }

  /* The defaults the header documents; NULL is a no-op. */
  memset(&limits, 0xab, sizeof limits);
  scriptqa_compile_limits_init(&limits);
  CHECK(limits.max_regex_bytes == 1024);
  CHECK(limits.max_regexes == 1000);
  CHECK(limits.max_total_regex_bytes == 32768);
  CHECK(limits.max_literals == 200000);
  scriptqa_compile_limits_init(NULL);

  /* Past the default bound: refused, naming the rule, the bound and the C way to raise it. */
  CHECK(scriptqa_rules_load_text("big.rules", big, big_len, &rules, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(rules == NULL);
  CHECK(scriptqa_error_code(err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(strstr(scriptqa_error_message(err), "big.rules:5004: rule p.r1000: more than 1000 regexes") !=
        NULL);
  CHECK(strstr(scriptqa_error_message(err), "FilterOptions::limits.max_regexes); this is the first "
                                            "past it; raise it with scriptqa_compile_limits."
                                            "max_regexes (0 lifts it)") != NULL);
  CHECK(count_of(scriptqa_error_message(err), hint) == 1);
  scriptqa_error_free(err);
  err = NULL;
  CHECK(scriptqa_rules_load_files(paths, 1, &rules, &err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(rules == NULL);
  CHECK_ERROR_HAS(hint);
  /* NULL limits are the defaults. */
  CHECK(scriptqa_rules_load_text_limited("big.rules", big, big_len, NULL, &rules, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(rules == NULL);
  CHECK_ERROR_HAS(hint);
  /* Every line past a bound gets its hint (here each regex is longer than 4 bytes). */
  scriptqa_compile_limits_init(&limits);
  limits.max_regex_bytes = 4;
  CHECK(scriptqa_rules_load_text_limited("small.rules", small, small_len, &limits, &rules, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(count_of(scriptqa_error_message(err), "FilterOptions::limits.max_regex_bytes") == 3);
  CHECK(count_of(scriptqa_error_message(err),
                 "; raise it with scriptqa_compile_limits.max_regex_bytes (0 lifts it)") == 3);
  CHECK(strstr(scriptqa_error_message(err), "max_regexes") == NULL);
  scriptqa_error_free(err);
  err = NULL;
  /* Other errors get no hint. */
  CHECK(scriptqa_rules_load_text_limited("bad.rules", "nonsense", 8, &limits, &rules, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(strstr(scriptqa_error_message(err), "scriptqa_compile_limits") == NULL);
  scriptqa_error_free(err);
  err = NULL;

  /* Raised, the dictionary loads and scans; lifted (0) too, from a file. */
  scriptqa_compile_limits_init(&limits);
  limits.max_regexes = 2000;
  CHECK_OK(scriptqa_rules_load_text_limited("big.rules", big, big_len, &limits, &rules, &e_));
  CHECK(rules != NULL);
  if (rules) {
    CHECK(scriptqa_rules_count(rules) == 1001);
    CHECK(finds_r1000(rules));
    scriptqa_rules_free(rules);
    rules = NULL;
  }
  limits.max_regexes = 0;
  CHECK_OK(scriptqa_rules_load_files_limited(paths, 1, &limits, &rules, &e_));
  CHECK(rules != NULL);
  if (rules) {
    CHECK(scriptqa_rules_count(rules) == 1001);
    CHECK(finds_r1000(rules));
    scriptqa_rules_free(rules);
    rules = NULL;
  }

  /* A handle loaded with the defaults: the reload is refused and the old rules stay, until the
   * handle's limits are lifted. */
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  if (rules) {
    scriptqa_scanner* scanner = NULL;
    const scriptqa_finding* f = NULL;
    size_t n = 0;
    CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));
    CHECK(scriptqa_rules_reload_text(rules, "big.rules", big, big_len, &gen, &err) ==
          SCRIPTQA_INVALID_ARGUMENT);
    CHECK(strstr(scriptqa_error_message(err), "more than 1000 regexes") != NULL);
    CHECK(count_of(scriptqa_error_message(err), hint) == 1);
    scriptqa_error_free(err);
    err = NULL;
    CHECK(scriptqa_rules_reload_files(rules, paths, 1, &gen, &err) == SCRIPTQA_INVALID_ARGUMENT);
    CHECK_ERROR_HAS(hint);
    CHECK(scriptqa_rules_generation(rules) == 1);
    CHECK_OK(scriptqa_scan(scanner, "最佳", strlen("最佳"), NULL, &f, &n, &e_));
    CHECK(n == 1 && has_rule(f, n, "ad_law.best"));

    scriptqa_compile_limits_init(&limits);
    limits.max_regexes = 0;
    CHECK_OK(scriptqa_rules_set_compile_limits(rules, &limits, &e_));
    CHECK(scriptqa_rules_generation(rules) == 1); /* limits alone change no rules */
    CHECK_OK(scriptqa_rules_reload_text(rules, "big.rules", big, big_len, &gen, &e_));
    CHECK(gen == 2);
    CHECK(scriptqa_rules_count(rules) == 1001);
    CHECK_OK(scriptqa_scan(scanner, "ok w1000y", strlen("ok w1000y"), NULL, &f, &n, &e_));
    CHECK(n == 1 && has_rule(f, n, "p.r1000"));

    /* NULL limits: back to the defaults for the next reload. */
    CHECK_OK(scriptqa_rules_set_compile_limits(rules, NULL, &e_));
    CHECK(scriptqa_rules_reload_files(rules, paths, 1, &gen, &err) == SCRIPTQA_INVALID_ARGUMENT);
    CHECK_ERROR_HAS(hint);
    CHECK(scriptqa_rules_generation(rules) == 2);
    scriptqa_scanner_free(scanner);
    scriptqa_rules_free(rules);
    rules = NULL;
  }

  /* A handle remembers the limits it was loaded with (here a lower bound than the default). */
  scriptqa_compile_limits_init(&limits);
  limits.max_regexes = 2;
  CHECK(scriptqa_rules_load_text_limited("small.rules", small, small_len, &limits, &rules, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("small.rules:14: rule p.r2: more than 2 regexes");
  CHECK_OK(scriptqa_rules_load_text_limited("a.rules", kRulesA, strlen(kRulesA), &limits, &rules, &e_));
  if (rules) {
    CHECK(scriptqa_rules_reload_text(rules, "small.rules", small, small_len, &gen, &err) ==
          SCRIPTQA_INVALID_ARGUMENT);
    CHECK(strstr(scriptqa_error_message(err), "more than 2 regexes") != NULL);
    CHECK_ERROR_HAS(hint);
    CHECK(scriptqa_rules_generation(rules) == 1);
    limits.max_regexes = 3;
    CHECK_OK(scriptqa_rules_set_compile_limits(rules, &limits, &e_));
    CHECK_OK(scriptqa_rules_reload_text(rules, "small.rules", small, small_len, &gen, &e_));
    CHECK(gen == 2 && scriptqa_rules_count(rules) == 3);
    scriptqa_rules_free(rules);
    rules = NULL;
  }

  /* NULL arguments. */
  CHECK(scriptqa_rules_set_compile_limits(NULL, &limits, &err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("rules is NULL");
  CHECK(scriptqa_rules_set_compile_limits(NULL, NULL, NULL) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(scriptqa_rules_load_text_limited("a.rules", kRulesA, strlen(kRulesA), &limits, NULL, NULL) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(scriptqa_rules_load_text_limited("a.rules", NULL, 5, &limits, &rules, NULL) ==
        SCRIPTQA_INVALID_ARGUMENT);
  CHECK(scriptqa_rules_load_files_limited(paths, 1, &limits, NULL, NULL) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(scriptqa_rules_load_files_limited(NULL, 1, &limits, &rules, &err) == SCRIPTQA_INVALID_ARGUMENT);
  CHECK(strstr(scriptqa_error_message(err), "paths is NULL") != NULL);
  scriptqa_error_free(err);
  CHECK(rules == NULL);
  remove(path);
  free(big);
  free(small);
}

static void test_scan_rewrite_profile(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  const scriptqa_finding* f = NULL;
  size_t n = 0;
  const char msg[] = "亲，这款是最佳选择，加 微-信 聊";
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  CHECK(rules != NULL);
  if (!rules) return;
  CHECK(scriptqa_rules_generation(rules) == 1);
  CHECK(scriptqa_rules_count(rules) == 2);
  CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));

  CHECK_OK(scriptqa_scan(scanner, msg, strlen(msg), NULL, &f, &n, &e_));
  CHECK(n == 2);
  if (n == 2) {
    CHECK(strcmp(f[0].rule_id, "ad_law.best") == 0);
    CHECK(strcmp(f[0].category, "ad_law") == 0);
    CHECK(f[0].severity == SCRIPTQA_REVIEW);
    CHECK(f[0].byte_begin == 15 && f[0].byte_end == 21);
    CHECK(f[0].char_begin == 5 && f[0].char_end == 7);
    CHECK(strcmp(f[0].text, "最佳") == 0);
    CHECK(strcmp(f[0].suggestion, "品质出众的") == 0);
    CHECK(strcmp(f[1].rule_id, "off_platform.wechat") == 0);
    CHECK(f[1].severity == SCRIPTQA_BLOCK);
    CHECK(strcmp(f[1].text, "加 微-信") == 0);
  }
  /* Allow-context; and min_severity. */
  CHECK_OK(scriptqa_scan(scanner, "最佳食用时间是三天", strlen("最佳食用时间是三天"), NULL, &f, &n, &e_));
  CHECK(n == 0);
  {
    scriptqa_scan_options o;
    memset(&o, 0, sizeof o);
    o.min_severity = SCRIPTQA_BLOCK;
    CHECK_OK(scriptqa_scan(scanner, msg, strlen(msg), &o, &f, &n, &e_));
    CHECK(n == 1 && has_rule(f, n, "off_platform.wechat"));
  }
  /* Invalid UTF-8: repaired by default, rejected on request. */
  {
    const char bin[] = "最佳\xff";
    scriptqa_scan_options o;
    scriptqa_error* err = NULL;
    memset(&o, 0, sizeof o);
    CHECK_OK(scriptqa_scan(scanner, bin, sizeof bin - 1, NULL, &f, &n, &e_));
    CHECK(n == 1);
    o.reject_invalid_utf8 = 1;
    CHECK(scriptqa_scan(scanner, bin, sizeof bin - 1, &o, &f, &n, &err) == SCRIPTQA_INVALID_ARGUMENT);
    CHECK(strstr(scriptqa_error_message(err), "byte 6") != NULL);
    scriptqa_error_free(err);
  }
  /* Rewrite. */
  {
    const char* out = NULL;
    size_t len = 0;
    int clean = 0;
    CHECK_OK(scriptqa_rewrite(scanner, msg, strlen(msg), NULL, &out, &len, &clean, &e_));
    CHECK(clean == 1);
    CHECK(out != NULL && strstr(out, "品质出众的") != NULL && strstr(out, "在平台内联系") != NULL);
    CHECK(out != NULL && strlen(out) == len);
  }
  /* Profiles. */
  {
    const char* disabled[] = {"ad_law"};
    const char* deny[] = {"某宝"};
    const char* targets[] = {"off_platform.wechat"};
    scriptqa_severity values[] = {SCRIPTQA_ADVICE};
    scriptqa_profile_options po;
    scriptqa_scan_options o;
    scriptqa_error* err = NULL;
    const char shop_msg[] = "最佳的某宝同款，加微信";
    memset(&po, 0, sizeof po);
    po.disabled = disabled;
    po.disabled_count = 1;
    po.deny_terms = deny;
    po.deny_terms_count = 1;
    po.severity_targets = targets;
    po.severity_values = values;
    po.severity_count = 1;
    CHECK_OK(scriptqa_rules_set_profile(rules, "shop-7", &po, NULL, &e_));
    CHECK(scriptqa_rules_generation(rules) == 2);
    memset(&o, 0, sizeof o);
    o.profile = "shop-7";
    CHECK_OK(scriptqa_scan(scanner, shop_msg, strlen(shop_msg), &o, &f, &n, &e_));
    CHECK(n == 2);
    CHECK(has_rule(f, n, "shop.shop_deny") && !has_rule(f, n, "ad_law.best"));
    CHECK(n == 2 && f[1].severity == SCRIPTQA_ADVICE);
    o.profile = "shop-unknown";
    CHECK(scriptqa_scan(scanner, shop_msg, strlen(shop_msg), &o, &f, &n, &err) == SCRIPTQA_NOT_FOUND);
    scriptqa_error_free(err);
    err = NULL;
    /* A profile naming something that does not exist is refused. */
    po.disabled = targets;
    targets[0] = "no.such.rule";
    CHECK(scriptqa_rules_set_profile(rules, "shop-8", &po, NULL, &err) == SCRIPTQA_INVALID_ARGUMENT);
    scriptqa_error_free(err);
    CHECK(scriptqa_rules_generation(rules) == 2);
  }
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
}

/* scriptqa_explain: every raw hit with its decision, spans in bytes and code points, the findings
 * and the normalised text. */
static void test_explain(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  const scriptqa_trace* t = NULL;
  const scriptqa_finding* f = NULL;
  const char* normalized = NULL;
  size_t nt = 0, n = 0, normalized_length = 0, i;
  int reported = 0, allowed = 0;
  const char msg[] = "最佳食用时间是三天，这款是最佳选择";
  CHECK(SCRIPTQA_C_API_VERSION >= 3);
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  if (!rules) return;
  CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));
  CHECK_OK(scriptqa_explain(scanner, msg, strlen(msg), NULL, &t, &nt, &f, &n, &normalized,
                            &normalized_length, &e_));
  CHECK(nt == 2);
  for (i = 0; i < nt; ++i) {
    CHECK(strcmp(t[i].rule_id, "ad_law.best") == 0);
    CHECK(strcmp(t[i].category, "ad_law") == 0);
    if (strcmp(t[i].decision, "reported") == 0) {
      ++reported;
      CHECK(t[i].byte_begin == 39 && t[i].byte_end == 45);
      CHECK(t[i].char_begin == 13 && t[i].char_end == 15);
      CHECK(strcmp(t[i].detail, "") == 0);
    } else if (strcmp(t[i].decision, "allow_context") == 0) {
      ++allowed;
      CHECK(t[i].byte_begin == 0 && t[i].char_end == 2);
      CHECK(strstr(t[i].detail, "最佳食用时间") != NULL);
    }
  }
  CHECK(reported == 1 && allowed == 1);
  CHECK(n == 1 && n > 0 && strcmp(f[0].text, "最佳") == 0);
  CHECK(normalized != NULL && strlen(normalized) == normalized_length);
  CHECK(normalized != NULL && strstr(normalized, "这款是最佳选择") != NULL);
  /* Optional outputs may be NULL; the required ones may not. */
  CHECK_OK(scriptqa_explain(scanner, msg, strlen(msg), NULL, &t, &nt, &f, &n, NULL, NULL, &e_));
  CHECK(scriptqa_explain(scanner, msg, strlen(msg), NULL, NULL, &nt, &f, &n, NULL, NULL, NULL) ==
        SCRIPTQA_INVALID_ARGUMENT);
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
}

static void test_reload_and_databases(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  const scriptqa_finding* f = NULL;
  size_t n = 0;
  uint64_t gen = 0;
  scriptqa_error* err = NULL;
  const char probe[] = "最佳的顶级货";
  char path[256];
  FILE* fp;
  snprintf(path, sizeof path, "%s/scriptqa_c_test_%ld.sqdb", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
           (long)getpid());
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  if (!rules) return;
  CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));
  CHECK_OK(scriptqa_scan(scanner, probe, strlen(probe), NULL, &f, &n, &e_));
  CHECK(n == 1 && has_rule(f, n, "ad_law.best"));

  CHECK_OK(scriptqa_rules_reload_text(rules, "b.rules", kRulesB, strlen(kRulesB), &gen, &e_));
  CHECK(gen == 2);
  CHECK_OK(scriptqa_scan(scanner, probe, strlen(probe), NULL, &f, &n, &e_));
  CHECK(n == 1 && has_rule(f, n, "ad_law.top"));

  /* A failed reload keeps the rules. */
  CHECK(scriptqa_rules_reload_text(rules, "bad.rules", "nonsense", 8, &gen, &err) ==
        SCRIPTQA_INVALID_ARGUMENT);
  scriptqa_error_free(err);
  err = NULL;
  CHECK(scriptqa_rules_generation(rules) == 2);

  /* Database round trip; a damaged database is refused. */
  CHECK_OK(scriptqa_rules_save_database(rules, path, &e_));
  CHECK_OK(scriptqa_rules_reload_database(rules, path, &gen, &e_));
  CHECK(gen == 3);
  CHECK_OK(scriptqa_scan(scanner, probe, strlen(probe), NULL, &f, &n, &e_));
  CHECK(n == 1 && has_rule(f, n, "ad_law.top"));
  fp = fopen(path, "r+b");
  CHECK(fp != NULL);
  if (fp) {
    fseek(fp, 200, SEEK_SET);
    fputc('#', fp);
    fputc('#', fp);
    fclose(fp);
  }
  CHECK(scriptqa_rules_reload_database(rules, path, &gen, &err) == SCRIPTQA_DATA_LOSS);
  scriptqa_error_free(err);
  CHECK(scriptqa_rules_generation(rules) == 3);
  remove(path);

  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
}

static void test_stream(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  scriptqa_stream* stream = NULL;
  scriptqa_stream_update u;
  const scriptqa_finding* f = NULL;
  const scriptqa_finding* all = NULL;
  size_t n = 0, n_all = 0, i, released = 0, reported = 0, len = 0;
  const char msg[] = "亲，这款是最佳选择，真的是最佳，加 微-信 聊，最佳食用时间是三天";
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  if (!rules) return;
  CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));
  CHECK_OK(scriptqa_scan(scanner, msg, strlen(msg), NULL, &f, &n, &e_));
  CHECK(n == 3);
  CHECK_OK(scriptqa_stream_new(rules, NULL, 0, &stream, &e_));
  if (!stream) return;
  /* One byte at a time: every UTF-8 character is split. */
  for (i = 0; i < strlen(msg); ++i) {
    CHECK_OK(scriptqa_stream_write(stream, msg + i, 1, &u, &e_));
    CHECK(u.releasable >= released);
    released = u.releasable;
    reported += u.new_count;
    CHECK(!u.finished);
  }
  CHECK(reported >= 1); /* the first 最佳 is certain long before the end */
  CHECK_OK(scriptqa_stream_finish(stream, &u, &e_));
  CHECK(u.finished && u.releasable == strlen(msg));
  reported += u.new_count;
  CHECK(reported == n);
  CHECK_OK(scriptqa_stream_findings(stream, &all, &n_all, &e_));
  CHECK(n_all == n);
  for (i = 0; i < n && i < n_all; ++i) {
    CHECK(strcmp(all[i].rule_id, f[i].rule_id) == 0);
    CHECK(all[i].byte_begin == f[i].byte_begin && all[i].byte_end == f[i].byte_end);
    CHECK(all[i].char_begin == f[i].char_begin && all[i].char_end == f[i].char_end);
  }
  CHECK(scriptqa_stream_text(stream, &len) != NULL && len == strlen(msg));
  CHECK(scriptqa_stream_write(stream, "x", 1, &u, NULL) == SCRIPTQA_FAILED_PRECONDITION);

  /* The next message; a reload in the middle of it does not change its rules. */
  CHECK_OK(scriptqa_stream_reset(stream, NULL, &e_));
  CHECK_OK(scriptqa_stream_write(stream, "这是最", strlen("这是最"), &u, &e_));
  CHECK_OK(scriptqa_rules_reload_text(rules, "b.rules", kRulesB, strlen(kRulesB), NULL, &e_));
  CHECK_OK(scriptqa_stream_write(stream, "佳的顶级货", strlen("佳的顶级货"), &u, &e_));
  CHECK_OK(scriptqa_stream_finish(stream, &u, &e_));
  CHECK_OK(scriptqa_stream_findings(stream, &all, &n_all, &e_));
  CHECK(n_all == 1 && has_rule(all, n_all, "ad_law.best"));
  /* After a reset the stream uses the new rules. */
  CHECK_OK(scriptqa_stream_reset(stream, NULL, &e_));
  CHECK_OK(scriptqa_stream_write(stream, "最佳的顶级货", strlen("最佳的顶级货"), &u, &e_));
  CHECK_OK(scriptqa_stream_finish(stream, &u, &e_));
  CHECK_OK(scriptqa_stream_findings(stream, &all, &n_all, &e_));
  CHECK(n_all == 1 && has_rule(all, n_all, "ad_law.top"));

  scriptqa_stream_free(stream);
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
}

/* Threads scan while the main thread reloads between two rule sets. */
struct worker_arg {
  scriptqa_rules* rules;
  volatile int* stop;
  int errors;
  int scans;
};

static void* worker(void* p) {
  struct worker_arg* a = (struct worker_arg*)p;
  scriptqa_scanner* scanner = NULL;
  const char probe[] = "最佳的顶级货";
  if (scriptqa_scanner_new(a->rules, &scanner, NULL) != SCRIPTQA_OK) {
    a->errors++;
    return NULL;
  }
  while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE) || a->scans < 20) {
    const scriptqa_finding* f;
    size_t n;
    if (scriptqa_scan(scanner, probe, strlen(probe), NULL, &f, &n, NULL) != SCRIPTQA_OK || n != 1 ||
        !(has_rule(f, n, "ad_law.best") || has_rule(f, n, "ad_law.top")))
      a->errors++;
    a->scans++;
  }
  scriptqa_scanner_free(scanner);
  return NULL;
}

/* Changes the handle's compile limits while others scan and reload (the rule sets have no regex,
 * so the limits never refuse them). */
static void* limits_setter(void* p) {
  struct worker_arg* a = (struct worker_arg*)p;
  scriptqa_compile_limits limits;
  scriptqa_compile_limits_init(&limits);
  while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE) || a->scans < 20) {
    limits.max_regexes = (size_t)(a->scans % 3) * 1000;
    if (scriptqa_rules_set_compile_limits(a->rules, a->scans % 5 ? &limits : NULL, NULL) !=
        SCRIPTQA_OK)
      a->errors++;
    a->scans++;
  }
  return NULL;
}

static void test_threads(void) {
  scriptqa_rules* rules = NULL;
  pthread_t t[3], setter;
  struct worker_arg args[3], setter_arg;
  int stop = 0, i;
  CHECK_OK(scriptqa_rules_load_text("a.rules", kRulesA, strlen(kRulesA), &rules, &e_));
  if (!rules) return;
  for (i = 0; i < 3; ++i) {
    args[i].rules = rules;
    args[i].stop = &stop;
    args[i].errors = 0;
    args[i].scans = 0;
    pthread_create(&t[i], NULL, worker, &args[i]);
  }
  setter_arg.rules = rules;
  setter_arg.stop = &stop;
  setter_arg.errors = 0;
  setter_arg.scans = 0;
  pthread_create(&setter, NULL, limits_setter, &setter_arg);
  for (i = 0; i < 20; ++i) {
    const char* text = i % 2 ? kRulesA : kRulesB;
    CHECK_OK(scriptqa_rules_reload_text(rules, "r.rules", text, strlen(text), NULL, &e_));
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  for (i = 0; i < 3; ++i) {
    pthread_join(t[i], NULL);
    CHECK(args[i].errors == 0);
    CHECK(args[i].scans >= 20);
  }
  pthread_join(setter, NULL);
  CHECK(setter_arg.errors == 0);
  CHECK(setter_arg.scans >= 20);
  CHECK(scriptqa_rules_generation(rules) == 21);
  scriptqa_rules_free(rules);
}

static void test_default_rules(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  const scriptqa_finding* f = NULL;
  size_t n = 0;
  const char msg[] = "這款產品絕對是最佳選擇，加我薇信";
  CHECK_OK(scriptqa_rules_load_default(&rules, &e_));
  if (!rules) return;
  CHECK(scriptqa_rules_count(rules) > 20);
  CHECK_OK(scriptqa_scanner_new(rules, &scanner, &e_));
  CHECK_OK(scriptqa_scan(scanner, msg, strlen(msg), NULL, &f, &n, &e_));
  CHECK(n >= 2);
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
}

int main(void) {
  test_errors();
  test_compile_limits();
  test_scan_rewrite_profile();
  test_explain();
  test_reload_and_databases();
  test_stream();
  test_threads();
  test_default_rules();
  if (failures) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
    return 1;
  }
  printf("c_api_test: all checks passed\n");
  return 0;
}

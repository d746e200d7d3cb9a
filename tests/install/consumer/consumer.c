/* Uses the installed C API with the default packs ($SCRIPTQA_DICTIONARIES points at the installed
 * share directory). Prints "consumer_c ok" and exits 0 when all works. */
#include <stdio.h>
#include <string.h>

#include "scriptqa/scriptqa.h"

int main(void) {
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  scriptqa_error* err = NULL;
  const scriptqa_finding* f = NULL;
  size_t n = 0;
  const char msg[] = "亲，加我薇信发您优惠券";
  if (scriptqa_rules_load_default(&rules, &err) != SCRIPTQA_OK) {
    fprintf(stderr, "consumer_c: %s\n", scriptqa_error_message(err));
    scriptqa_error_free(err);
    return 1;
  }
  if (scriptqa_scanner_new(rules, &scanner, &err) != SCRIPTQA_OK ||
      scriptqa_scan(scanner, msg, strlen(msg), NULL, &f, &n, &err) != SCRIPTQA_OK || n < 1) {
    fprintf(stderr, "consumer_c: scan failed: %s\n", scriptqa_error_message(err));
    scriptqa_error_free(err);
    return 1;
  }
  printf("consumer_c ok: %s (%s)\n", f[0].rule_id, scriptqa_version());
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);

  /* Own rules with a compile-time bound lifted (C API version 2). */
  scriptqa_compile_limits limits;
  scriptqa_compile_limits_init(&limits);
  if (limits.max_regexes == 0) {
    fprintf(stderr, "consumer_c: scriptqa_compile_limits_init left max_regexes 0\n");
    return 1;
  }
  limits.max_regexes = 0;
  const char own[] =
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule own.code\n  regex zz[0-9]{3}\n  reason r\n";
  if (scriptqa_rules_load_text_limited("own.rules", own, strlen(own), &limits, &rules, &err) !=
      SCRIPTQA_OK) {
    fprintf(stderr, "consumer_c: own rules: %s\n", scriptqa_error_message(err));
    scriptqa_error_free(err);
    return 1;
  }
  printf("consumer_c ok: %zu own rule(s) with max_regexes lifted\n", scriptqa_rules_count(rules));
  scriptqa_rules_free(rules);
  return 0;
}

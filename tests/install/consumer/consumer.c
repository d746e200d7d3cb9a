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
  return 0;
}

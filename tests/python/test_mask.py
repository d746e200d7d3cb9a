"""Personal data in outputs: Filter.mask, Finding.masked, and audits that mask by default."""
import dask
import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest

import scriptqa
import scriptqa.dask

PHONE = "13812345678"
# An off-platform finding over a phone; a wechat ID (letters: only the privacy rule finds it);
# an ID and a card whose checksums fail (no finding, still somebody's number); an e-mail.
OFF_PLATFORM_PHONE = "好的，加微信 13812345678 聊"
WECHAT = "加微信zhangsan88聊"
BAD_ID = "身份证110101199003071234"
BAD_CARD = "卡号6222020200112233445"
AD_AND_PHONE = "这款是最佳选择，电话13812345678"
SECRETS = [PHONE, "zhangsan88", "110101199003071234", "6222020200112233445", "zhangsan1988"]


def leaks(value):
    return [s for s in SECRETS if s in str(value)]


def test_filter_mask_hides_personal_data_and_keeps_offsets(default_filter):
    f = default_filter
    assert f.mask(OFF_PLATFORM_PHONE) == "好的，加微信 138****5678 聊"
    for text in [OFF_PLATFORM_PHONE, WECHAT, BAD_ID, BAD_CARD, "邮箱zhangsan1988@qq.com", "您好"]:
        masked = f.mask(text)
        assert not leaks(masked), masked
        assert len(masked) == len(text) and len(masked.encode()) == len(text.encode())
        assert f.mask(text.encode()) == masked.encode()  # bytes in, bytes out
        assert scriptqa.mask(text) == masked  # module-level, default filter
    assert f.mask("您好") == "您好"
    assert f.mask("x\ud800 13812345678", errors="replace") == "x\ufffd 138****5678"
    with pytest.raises(scriptqa.EncodingError):
        f.mask("x\ud800")
    with pytest.raises(scriptqa.EncodingError):
        f.mask(b"\xff 13812345678")
    assert f.mask(b"\xff 13812345678", errors="replace") == b"\xff 138****5678"
    with pytest.raises(TypeError):
        f.mask(["13812345678"])


def test_findings_carry_their_masked_form(default_filter, hit_examples):
    f = default_filter
    texts = [OFF_PLATFORM_PHONE, WECHAT, AD_AND_PHONE] + [m for _, m in hit_examples]
    no_privacy = [c for c in f.categories if c != "privacy"]
    for options in [{}, {"categories": no_privacy}, {"min_severity": "review"}, {"overlap": "all"}]:
        for text in texts:
            masked = f.mask(text)
            for x in f.scan(text, **options):
                assert x.matched == text[x.start:x.end]  # raw: a span of the caller's own string
                assert x.masked == masked[x.start:x.end], (options, text, x)
        batch = f.scan_many(texts, **options)
        assert batch == [f.scan(t, **options) for t in texts]
    (off,) = f.scan(WECHAT, categories=["off_platform"])
    assert off.matched == "加微信zhangsan88" and off.masked == "加微信z********8"
    (off,) = f.scan(OFF_PLATFORM_PHONE, categories=["off_platform"])
    assert off.masked == "加微信 138****5678"
    (off,) = f.scan(OFF_PLATFORM_PHONE.encode(), categories=["off_platform"])
    assert off.masked == "加微信 138****5678".encode()
    replaced = f.rewrite(OFF_PLATFORM_PHONE).replaced
    assert replaced and all(not leaks(x.masked) for x in replaced)
    explained = f.explain(WECHAT, categories=["off_platform"]).findings
    assert explained and all(not leaks(x.masked) for x in explained)


def _frame():
    return pd.DataFrame({
        "conversation_id": ["c1", "c1", "c2", "c2"],
        "role": ["customer", "agent", "agent", "agent"],
        "text": [f"我的电话{PHONE}", OFF_PLATFORM_PHONE, AD_AND_PHONE, WECHAT],
    })


def test_audit_frame_masks_by_default(default_filter):
    df = _frame()
    for options in [{}, {"categories": ["ad_law", "off_platform"]}]:
        findings, summary = scriptqa.audit_frame(df, keep=["text", "conversation_id"], **options)
        assert len(findings) > 0
        assert not leaks(findings.to_string()) and not leaks(list(findings["matched"]))
        assert not leaks(list(findings["text"])) and not leaks(list(summary["text"]))
        assert not leaks(list(findings["suggestion"])) and not leaks(list(findings["suggestions"]))
        assert list(summary["text"]) == [default_filter.mask(t) for t in df["text"][1:]]
        raw, raw_summary = scriptqa.audit_frame(df, keep=["text"], mask=False, **options)
        assert list(raw["matched"]) == [t[s:e] for t, s, e in zip(raw["text"], raw["start"], raw["end"])]
        assert leaks(list(raw["matched"])) and list(raw_summary["text"]) == list(df["text"][1:])


def test_suggestion_templates_are_rendered_from_the_masked_text():
    rules = ("%format scriptqa-rules 1\n%category custom 自定义\n%default category custom\n%default severity review\n"
             "rule custom.phone\n  regex 电话[0-9]{11}\n  suggest 请删除{match}\n  reason r\n")
    f = scriptqa.Filter.from_dictionaries(scriptqa.DictionarySource.text("t.rules", rules))
    (x,) = f.scan(AD_AND_PHONE)
    assert x.suggestion == f"请删除电话{PHONE}"  # the scanning API renders from the caller's text
    df = pd.DataFrame({"role": ["agent"], "text": [AD_AND_PHONE]})
    findings, _ = scriptqa.audit_frame(df, f)
    assert list(findings["suggestion"]) == ["请删除电话138****5678"]
    assert list(findings["suggestions"]) == [("请删除电话138****5678",)]
    findings, _ = scriptqa.audit_frame(df, f, mask=False)
    assert list(findings["suggestion"]) == [f"请删除电话{PHONE}"]


def test_dask_audits_mask_by_default(default_filter):
    df = _frame()
    recs = df.to_dict("records")
    with dask.config.set(scheduler="sync"):
        got = scriptqa.dask.audit_bag(db.from_sequence(recs, npartitions=2), keep=["text"],
                                      categories=["ad_law", "off_platform"]).compute()
        assert got and not leaks(got)
        assert {r["text"] for r in got} == {default_filter.mask(t) for t in df["text"][1:]}
        raw = scriptqa.dask.audit_bag(db.from_sequence(recs, npartitions=2), keep=["text"], mask=False).compute()
        assert leaks(raw)
        findings, summary = dask.compute(*scriptqa.dask.audit_dataframe(dd.from_pandas(df, npartitions=2),
                                                                        keep=["text"]))
        assert len(findings) > 0 and not leaks(findings.to_string()) and not leaks(summary.to_string())
        findings, summary = dask.compute(*scriptqa.dask.audit_dataframe(dd.from_pandas(df, npartitions=2),
                                                                        keep=["text"], mask=False))
        assert leaks(list(findings["matched"])) and leaks(list(summary["text"]))

"""Which encoding a page is decoded in (newscrawl.charset): declarations that are missing
or wrong, and detection (bs4's UnicodeDammit with charset-normalizer) only where they are
doubtful."""

from __future__ import annotations

import pytest

from newscrawl import charset
from newscrawl.charset import decode_html, detect_encoding, other_script_evidence, page_encoding
from tests.faults import CP1252, JAPANESE, article_html

ARABIC = [
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة، ويضم المستشفى أكثر من مئتي سرير.",
    "وقال الوزير في مؤتمر صحفي إن المشروع استغرق ثلاث سنوات من العمل المتواصل في ظروف صعبة.",
    "ويأمل السكان أن يخفف المستشفى الجديد من الضغط على المستشفيات القديمة في المدينة.",
    "وأضاف الوزير أن الحكومة تخطط لبناء مستشفيات أخرى في المحافظات خلال العام المقبل.",
    "وتبلغ تكلفة المشروع نحو خمسين مليون دينار، بتمويل من الحكومة ومن القطاع الخاص.",
]
RUSSIAN = [
    "В понедельник городской совет утвердил новый бюджет на следующий год после долгих споров.",
    "По словам мэра, расходы на общественный транспорт вырастут на двенадцать процентов.",
    "Жители смогут высказать своё мнение на публичных слушаниях в следующем месяце.",
    "Оппозиция считает, что новые налоги сильнее всего ударят по тем, кто снимает жильё.",
    "Бюджет вступит в силу первого июля, если его одобрит областная администрация.",
]


def arabic_page() -> bytes:
    """windows-1256, declared nowhere: no meta, and served without a header charset."""
    return article_html("مستشفى جديد في العاصمة", ARABIC, lang="ar", meta_charset=None, dir_="rtl").encode("cp1256")


def russian_page(encoding: str, paragraphs: list[str] = RUSSIAN, title: str = "Городской бюджет") -> bytes:
    return article_html(title, paragraphs, lang="ru", meta_charset=None).encode(encoding)


def japanese_page() -> bytes:
    return article_html("東京の雨", JAPANESE, lang="ja", meta_charset=None).encode("shift_jis")


def test_undeclared_windows_1256_arabic_is_detected():
    body = arabic_page()
    assert page_encoding("text/html", body) == ("cp1256", "detected-undeclared")
    assert page_encoding(None, body) == ("cp1256", "detected-undeclared")
    text = decode_html(body, "text/html")
    assert ARABIC[0] in text and ARABIC[4] in text


@pytest.mark.parametrize("header", ["text/html; charset=ISO-8859-1", "text/html; charset=windows-1252",
                                    "text/html; charset=latin1", "text/html; charset=us-ascii"])
@pytest.mark.parametrize("body, expected, reason, words", [
    (russian_page("utf-8"), "utf-8", "declared-latin-is-utf8", RUSSIAN),
    (article_html("Café society", CP1252, meta_charset=None).encode("utf-8"), "utf-8", "declared-latin-is-utf8", CP1252),
    (russian_page("cp1251"), "cp1251", "detected-under-latin", RUSSIAN),
    (japanese_page(), "cp932", "detected-under-latin", JAPANESE),
    (arabic_page(), "cp1256", "detected-under-latin", ARABIC),
], ids=["utf8-russian", "utf8-french", "windows-1251", "shift_jis", "windows-1256"])
def test_a_latin_header_contradicted_by_the_bytes(header, body, expected, reason, words):
    assert page_encoding(header, body) == (expected, reason)
    text = decode_html(body, header)
    assert all(w in text for w in words) and "\ufffd" not in text


def test_a_latin_charset_in_the_page_itself_is_doubted_the_same_way():
    body = article_html("Городской бюджет", RUSSIAN, lang="ru", meta_charset="iso-8859-1").encode("cp1251")
    assert page_encoding("text/html", body) == ("cp1251", "detected-under-latin")
    assert RUSSIAN[2] in decode_html(body)


def test_a_wrong_utf8_header_over_another_script():
    body = russian_page("cp1251")
    assert page_encoding("text/html; charset=utf-8", body) == ("cp1251", "detected-not-utf8")
    assert RUSSIAN[1] in decode_html(body, "text/html; charset=utf-8")


def test_a_declared_charset_the_bytes_do_not_decode_in():
    body = russian_page("utf-8")  # no valid Shift_JIS: UTF-8 after all
    assert page_encoding("text/html; charset=shift_jis", body) == ("utf-8", "declared-invalid-is-utf8")
    assert RUSSIAN[3] in decode_html(body, "text/html; charset=shift_jis")


def test_latin_pages_stay_windows_1252_and_are_never_sent_to_detection(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("detection ran")

    monkeypatch.setattr(charset, "detect_encoding", fail)
    body = article_html("Café society", CP1252, meta_charset=None).encode("cp1252")
    assert page_encoding("text/html", body) == ("cp1252", "undeclared-cp1252")
    assert page_encoding("text/html; charset=ISO-8859-1", body) == (None, "declared")
    assert page_encoding("text/html; charset=windows-1252", body) == (None, "declared")
    text = decode_html(body, "text/html")
    assert "crème brûlée" in text and "“the best dessert in town”" in text and "€4" in text
    # Declared pages in their own charset, UTF-8 pages: nothing to doubt.
    assert page_encoding("text/html; charset=utf-8", russian_page("utf-8")) == (None, "declared")
    assert page_encoding("text/html", russian_page("utf-8")) == (None, "undeclared-utf8")
    assert page_encoding("text/html; charset=windows-1251", russian_page("cp1251")) == (None, "declared")
    # A few stray bytes in a UTF-8 page are repaired, not detected.
    assert decode_html(b"<p>\x93quoted\x94 \x81</p>", "text/html; charset=utf-8") == "<p>“quoted” </p>"


def test_other_script_evidence():
    assert other_script_evidence(russian_page("cp1251"))
    assert other_script_evidence(japanese_page())
    assert other_script_evidence(arabic_page())
    assert not other_script_evidence(article_html("Café society", CP1252, meta_charset=None).encode("cp1252"))
    assert not other_script_evidence("<p>Шум</p>".encode("cp1251"))  # too little to tell


def test_detection_uses_charset_normalizer():
    import bs4.dammit
    import charset_normalizer

    # chardet, which bs4 would otherwise pick (it is installed for readability-lxml),
    # reads this page as ISO-8859-5.
    assert detect_encoding(arabic_page()) == "cp1256"
    assert bs4.dammit.chardet_module is charset_normalizer
    assert detect_encoding(russian_page("cp1251"), exclude=("cp1251",)) != "cp1251"

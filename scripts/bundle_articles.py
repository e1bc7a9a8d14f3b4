"""Copy a selection of article bodies from the aeb-dev article-extraction benchmark
(MIT licence, Copyright (c) 2020 Scrapinghub) into newscrawl/demo/articles.json.

Usage: python scripts/bundle_articles.py /path/to/aeb-dev
The selection is deterministic: bodies with several paragraphs and a moderate length,
taken in id order, so re-running the script reproduces the same file.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import lxml.html
from lingua import LanguageDetectorBuilder

DETECTOR = LanguageDetectorBuilder.from_all_languages().build()

OUT_DIR = Path(__file__).resolve().parent.parent / "newscrawl" / "demo"
WANTED = 40
MIN_CHARS, MAX_CHARS = 1000, 6500


def page_title(html_path: Path) -> str:
    raw = gzip.decompress(html_path.read_bytes())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    tree = lxml.html.fromstring(text)
    for xpath in ('//meta[@property="og:title"]/@content', "//title/text()", "//h1//text()"):
        found = [t.strip() for t in tree.xpath(xpath) if t.strip()]
        if found:
            return " ".join(found[0].split())
    return ""


def strip_site_suffix(title: str) -> str:
    """'Headline - Site Name' -> 'Headline': the bundle stores the headline only."""
    for sep in (" | ", " - ", " – "):
        head, found, tail = title.rpartition(sep)
        if found and len(tail) <= 30 and len(head) >= 20:
            return head.strip()
    return title


def main(source: Path) -> None:
    truth = json.loads((source / "ground-truth.json").read_text(encoding="utf-8"))
    chosen = []
    for article_id in sorted(truth):
        body = truth[article_id]["articleBody"].strip()
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        if not MIN_CHARS <= len(body) <= MAX_CHARS or len(paragraphs) < 4:
            continue
        title = strip_site_suffix(page_title(source / "html" / f"{article_id}.html.gz"))
        if not title:
            continue
        detected = DETECTOR.detect_language_of(body)
        language = detected.iso_code_639_1.name.lower() if detected else "und"
        chosen.append({"id": article_id[:16], "source_url": truth[article_id]["url"],
                       "title": title, "language": language, "body": body})
        if len(chosen) == WANTED:
            break
    document = {
        "source": "Article bodies and titles from the aeb-dev article-extraction benchmark "
                  "(https://github.com/scrapinghub/article-extraction-benchmark), "
                  "MIT licence, Copyright (c) 2020 Scrapinghub; see LICENSE-articles.",
        "articles": chosen,
    }
    (OUT_DIR / "articles.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(source / "LICENSE", OUT_DIR / "LICENSE-articles")
    print(f"{len(chosen)} articles written")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""The app in the user's language: English or Chinese, from the browser, changed by a switch."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app_logic import library_home  # noqa: F401 - the shared, once-ingested library

from ui import i18n

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"
TIMEOUT = 60  # s; the first run of a page imports the embedder and Chroma
PAGES = ("library", "add", "video", "ask", "search")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _page(name: str) -> None:
    import importlib

    importlib.import_module(f"ui.app_pages.{name}").render()


def page(name: str, locale: str | None) -> AppTest:
    at = AppTest.from_function(_page, args=(name,), default_timeout=TIMEOUT)
    at.context["locale"] = locale
    return at


def app(locale: str | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.context["locale"] = locale
    return at


@pytest.fixture
def home(library_home, monkeypatch):  # noqa: F811 - the imported fixture
    monkeypatch.setenv("VIDQA_HOME", str(library_home))
    return library_home


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_string_exists_in_both_languages_with_the_same_blanks():
    for key, by_lang in i18n.STRINGS.items():
        assert set(by_lang) == set(i18n.LANGS), key
        assert all(by_lang[lang].strip() for lang in i18n.LANGS), key
        assert _fields(by_lang["en"]) == _fields(by_lang["zh"]), key
        assert CJK.search(by_lang["zh"]), f"{key}: the Chinese string has no Chinese"


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh-Hant-HK", "zh"),
        ("ZH", "zh"),
        ("zh", "zh"),
        ("en-US", "en"),
        ("de-DE", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_browser_language_picks_the_app_language(locale, lang):
    assert i18n.browser_language(locale) == lang


def test_a_chinese_browser_gets_the_app_in_chinese_and_the_switch_changes_it():
    at = app("zh-CN").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["视频库"]
    assert "视频库是空的" in at.info[0].value
    switch = at.segmented_control(key="ui_lang")
    assert switch.value == "zh" and switch.label == "语言"
    switch.set_value("en").run()
    assert [t.value for t in at.title] == ["Library"]
    assert at.info[0].value.startswith("The library is empty.")
    assert at.segmented_control(key="ui_lang").label == "Language"
    at.segmented_control(key="ui_lang").set_value("zh").run()  # and back
    assert [t.value for t in at.title] == ["视频库"]


@pytest.mark.parametrize("locale", ["en-US", "fr-FR", None])
def test_other_browsers_get_the_english_app_unchanged(locale):
    at = app(locale).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Library"]
    assert at.segmented_control(key="ui_lang").value == "en"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_speaks_chinese_to_a_chinese_browser(name):
    at = page(name, "zh-CN").run()
    assert not at.exception
    shown = [e.value for kind in ("title", "info", "caption", "subheader") for e in at.get(kind)]
    shown += [w.label for kind in ("toggle", "button") for w in at.get(kind)]
    assert shown and all(CJK.search(text) for text in shown), shown


def test_chinese_labels_around_library_content(home):
    library = page("library", "zh-CN").run()
    assert not library.exception
    card = "\n".join(m.value for m in library.markdown)
    assert "字幕：`srt`" in card and "个章节" in card
    assert {"打开", "提问", "重新导入", "删除"} <= {b.label for b in library.button}
    ask = page("ask", "zh-CN").run()
    scope = ask.radio(key="ask_scope")
    assert scope.label == "提问范围" and list(scope.proto.options) == [
        "整个视频库",
        "单个视频",
        "选定的视频",
    ]
    scope.set_value("One video").run()  # values stay the same in every language
    assert ask.selectbox(key="ask_video").label == "视频"
    search = page("search", "zh-CN").run()
    search.text_input(key="search_query").input("volcanoes erupt magma").run()
    assert not search.exception
    hits = [b for b in search.button if b.key and b.key.startswith("hit-")]
    assert hits and all("语音" in b.label for b in hits)
    assert any("条结果" in m.value for m in search.markdown)
    english = page("search", "en-US").run()
    english.text_input(key="search_query").input("volcanoes erupt magma").run()
    assert all("said" in b.label for b in english.button if b.key and b.key.startswith("hit-"))


def test_every_ingest_stage_has_a_chinese_name():
    """The Add page's progress bars name the stage the pipeline reports: each one the
    pipeline or the library can report reads in Chinese, not as a code name."""
    import ast

    root = Path(__file__).resolve().parents[1]
    stages = {"queued", "done"}  # set by the app itself (ui/app_logic.py)
    for source, fn in (("ingest/pipeline.py", "step"), ("index/library.py", "progress")):
        tree = ast.parse((root / source).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == fn
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                stages.add(node.args[0].value)
    assert {"transcript", "frames", "chapters", "embedding"} <= stages
    for stage in stages:
        assert CJK.search(i18n.stage_name("zh", stage)), stage
        assert i18n.stage_name("en", stage) == stage
    assert i18n.stage_name("zh", "some-new-stage") == "some-new-stage"

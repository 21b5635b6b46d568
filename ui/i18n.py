"""The app's own words in English and Chinese: one keyed table, and the browser's language.

Media text (titles, transcripts, quotes) is never translated; only the app's labels,
hints and messages are. Pure: no Streamlit import, so tests check the table directly.
"""

from __future__ import annotations

from qa.wording import Lang  # one set of languages for the app and the answers

LANGS: tuple[Lang, ...] = ("en", "zh")
LANG_NAMES: dict[Lang, str] = {"en": "English", "zh": "中文"}

STRINGS: dict[str, dict[Lang, str]] = {
    # navigation
    "page_library": {"en": "Library", "zh": "视频库"},
    "page_add": {"en": "Add videos", "zh": "添加视频"},
    "page_video": {"en": "Video", "zh": "视频"},
    "page_ask": {"en": "Ask", "zh": "提问"},
    "page_search": {"en": "Search", "zh": "搜索"},
    "language": {"en": "Language", "zh": "语言"},
    # shared
    "empty_add_first": {
        "en": "The library is empty: add a video first.",
        "zh": "视频库是空的：请先添加视频。",
    },
    "searching": {"en": "Searching…", "zh": "正在搜索…"},
    "gone": {"en": "That video is no longer in the library.", "zh": "这个视频已不在视频库中。"},
    "cannot_play": {"en": "Cannot play {title}: {error}", "zh": "无法播放 {title}：{error}"},
    "not_playable": {
        "en": "No playable media file for {title} (moved, deleted, or transcript only).",
        "zh": "{title} 没有可播放的媒体文件（已移动、已删除，或只有字幕）。",
    },
    "playing_clip": {
        "en": "Playing a clip from {when}: the file is too large to stream whole.",
        "zh": "从 {when} 起播放片段：文件太大，无法整体播放。",
    },
    "download_clip": {"en": "Download clip", "zh": "下载片段"},
    "video": {"en": "Video", "zh": "视频"},
    "videos": {"en": "Videos", "zh": "视频"},
    "open": {"en": "Open", "zh": "打开"},
    "n_video": {"en": "{n} video", "zh": "{n} 个视频"},
    "n_videos": {"en": "{n} videos", "zh": "{n} 个视频"},
    "n_chapter": {"en": "{n} chapter", "zh": "{n} 个章节"},
    "n_chapters": {"en": "{n} chapters", "zh": "{n} 个章节"},
    "n_span": {"en": "{n} span", "zh": "{n} 个片段"},
    "n_spans": {"en": "{n} spans", "zh": "{n} 个片段"},
    "n_result": {"en": "{n} result", "zh": "{n} 条结果"},
    "n_results": {"en": "{n} results", "zh": "{n} 条结果"},
    "n_file": {"en": "{n} file", "zh": "{n} 个文件"},
    "n_files": {"en": "{n} files", "zh": "{n} 个文件"},
    "transcript_is": {"en": "transcript: `{source}`", "zh": "字幕：`{source}`"},
    # library
    "library_empty": {
        "en": "The library is empty. Add videos on the **Add videos** page, or run "
        "`vidqa ingest PATH`.",
        "zh": "视频库是空的。请在**添加视频**页面添加，或运行 `vidqa ingest PATH`。",
    },
    "add_videos": {"en": "Add videos", "zh": "添加视频"},
    "problems": {"en": "Problems ({n})", "zh": "问题（{n}）"},
    "incomplete": {
        "en": "**{title}** is `{status}`: its ingest is running or was interrupted; it "
        "is hidden from search until it finishes.",
        "zh": "**{title}** 的状态是 `{status}`：导入正在进行或被中断；完成前不会出现在搜索中。",
    },
    "failed_file": {"en": "**{name}** failed: {error}", "zh": "**{name}** 导入失败：{error}"},
    "ingested_at": {"en": "ingested {when}", "zh": "导入于 {when}"},
    "removing": {"en": "Removing…", "zh": "正在删除…"},
    "ask": {"en": "Ask", "zh": "提问"},
    "reingest": {"en": "Re-ingest", "zh": "重新导入"},
    "remove": {"en": "Remove", "zh": "删除"},
    "remove_confirm": {
        "en": "Remove **{title}** and everything indexed for it?",
        "zh": "删除 **{title}** 及其所有索引内容？",
    },
    "yes_remove": {"en": "Yes, remove", "zh": "确定删除"},
    "removing_title": {"en": "Removing {title}…", "zh": "正在删除 {title}…"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    # add
    "force": {
        "en": "Re-ingest files that are already in the library",
        "zh": "重新导入库中已有的文件",
    },
    "index_frames": {
        "en": "Index frames (thumbnails, on-screen text, CLIP)",
        "zh": "索引画面（缩略图、屏幕文字、CLIP）",
    },
    "tab_upload": {"en": "Upload", "zh": "上传"},
    "tab_path": {"en": "Path on this machine", "zh": "本机路径"},
    "upload_label": {"en": "Video or audio files", "zh": "视频或音频文件"},
    "upload_limit": {
        "en": "Up to {mb} MB each; stored in `{where}`.",
        "zh": "每个最大 {mb} MB；保存在 `{where}`。",
    },
    "ingest_uploads": {"en": "Ingest uploads", "zh": "导入上传的文件"},
    "path_off": {
        "en": "Ingest by path is off: the app is not bound to loopback only (serve it with "
        "`vidqa ui`, or set VIDQA_ALLOW_PATH_INGEST=1 on a trusted network); upload "
        "files, or run `vidqa ingest PATH` on the server.",
        "zh": "按路径导入已关闭：应用没有只绑定本机回环地址（请用 `vidqa ui` 启动，或在可信网络中"
        "设置 VIDQA_ALLOW_PATH_INGEST=1）；请上传文件，或在服务器上运行 `vidqa ingest PATH`。",
    },
    "path_label": {
        "en": "File or folder (folders are searched recursively)",
        "zh": "文件或文件夹（递归查找文件夹）",
    },
    "ingest_path": {"en": "Ingest path", "zh": "导入路径"},
    "progress": {"en": "Progress", "zh": "进度"},
    "removal_running": {
        "en": "Removing **{title}**… it can be added again when the removal has finished.",
        "zh": "正在删除 **{title}**… 删除完成后才能再次添加。",
    },
    "still_removing": {
        "en": "{name}: {title} is still being removed; add it again when that has finished",
        "zh": "{name}：{title} 仍在删除中；删除完成后再添加",
    },
    "type_path": {
        "en": "Type the path of a file or folder first.",
        "zh": "请先输入文件或文件夹的路径。",
    },
    "no_such_path": {
        "en": "{path}: no such file or folder on this machine",
        "zh": "{path}：本机上没有这个文件或文件夹",
    },
    "no_media_in_folder": {
        "en": "{path}: no video or audio files in this folder",
        "zh": "{path}：这个文件夹里没有视频或音频文件",
    },
    "no_jobs": {"en": "No ingest has run yet.", "zh": "还没有运行过导入。"},
    "job_running": {"en": "running", "zh": "进行中"},
    "job_failed": {"en": "{n} failed", "zh": "{n} 个失败"},
    "job_done": {"en": "done", "zh": "完成"},
    "job_title": {"en": "Ingest {id}", "zh": "导入 {id}"},
    "status_ingested": {"en": "ingested", "zh": "已导入"},
    "status_unchanged": {"en": "unchanged", "zh": "未变化"},
    "note": {"en": "Note: {text}", "zh": "注意：{text}"},
    "cli_one_video": {  # `vidqa ask`/`chat` only: the app offers the videos as buttons
        "en": "to ask about one video, name it in the question or use --video ID_OR_TITLE",
        "zh": "要只问一个视频，请在问题里写出它的名字，或用 --video ID_OR_TITLE",
    },
    # video
    "summary": {"en": "Summary, from {source}", "zh": "摘要：来自{source}"},
    "assessment": {"en": "Assessment.", "zh": "评价。"},
    "tab_chapters": {"en": "Chapters", "zh": "章节"},
    "tab_transcript": {"en": "Transcript", "zh": "字幕"},
    "tab_search": {"en": "Search", "zh": "搜索"},
    "no_chapters": {
        "en": "No chapters for this video yet (they appear once the chapter stage has run).",
        "zh": "这个视频还没有章节（章节阶段运行后才会出现）。",
    },
    "source": {"en": "source: {source}", "zh": "来源：{source}"},
    "no_transcript": {"en": "No transcript for this video.", "zh": "这个视频没有字幕。"},
    "click_line": {"en": "Click a line to play from there.", "zh": "点击一行即从那里开始播放。"},
    "col_time": {"en": "time", "zh": "时间"},
    "col_text": {"en": "text", "zh": "内容"},
    "search_video": {"en": "Search this video", "zh": "在这个视频中搜索"},
    "nothing_in_video": {
        "en": "Nothing in this video matches.",
        "zh": "这个视频里没有匹配的内容。",
    },
    # ask
    "ask_empty": {
        "en": "The library is empty: add a video first, then ask about it here.",
        "zh": "视频库是空的：请先添加视频，再在这里提问。",
    },
    "ask_placeholder": {
        "en": "Ask about your videos, e.g. “what was said at 0:20?”",
        "zh": "关于视频提问，例如“0:20 说了什么？”",
    },
    "ask_hint": {
        "en": "Answers cite clips; click a citation to play it.",
        "zh": "回答会引用片段；点击引用即可播放。",
    },
    "new_chat": {"en": "New chat", "zh": "新对话"},
    "ask_about": {"en": "Ask about", "zh": "提问范围"},
    "scope_library": {"en": "Library", "zh": "整个视频库"},
    "scope_one": {"en": "One video", "zh": "单个视频"},
    "scope_selection": {"en": "Selection", "zh": "选定的视频"},
    "ask_only": {"en": "Ask only about “{title}”", "zh": "只问“{title}”"},
    "looking": {"en": "Looking through the videos…", "zh": "正在查看视频…"},
    "outdated_model": {
        "en": "This library searches with {model}, an earlier default. Re-indexing with "
        "{default} ranks English and Chinese better; search keeps working meanwhile.",
        "zh": "这个视频库用的是旧的默认搜索模型 {model}。用 {default} 重建索引后，中英文搜索都更准；"
        "重建期间照常可以搜索。",
    },
    "reindex": {"en": "Re-index the library", "zh": "重建索引"},
    "reindexing": {"en": "Embedding the videos' text again…", "zh": "正在重新嵌入视频文字…"},
    "reindexed": {
        "en": "{videos} now searched with {model}.",
        "zh": "{videos}现在用 {model} 搜索。",
    },
    "not_answered": {
        "en": "Not answered: this question was stopped twice. Ask it again.",
        "zh": "没有回答：这个问题两次被打断。请再问一次。",
    },
    "type_question": {"en": "Type a question first.", "zh": "请先输入问题。"},
    "question_cut": {
        "en": "{text}… ({n} characters, shown cut)",
        "zh": "{text}…（共 {n} 个字符，已截断显示）",
    },
    # search
    "search_label": {
        "en": "Search transcripts, chapters and on-screen text",
        "zh": "搜索字幕、章节和屏幕文字",
    },
    "search_image": {"en": "Search by image", "zh": "以图搜索"},
    "image_label": {
        "en": "Find moments that look like this image",
        "zh": "查找与这张图片相似的画面",
    },
    "results": {"en": "Results", "zh": "结果数"},
    "no_results": {"en": "No results.", "zh": "没有结果。"},
    "not_image": {
        "en": "{name}: not a readable image ({error})",
        "zh": "{name}：无法读取的图片（{error}）",
    },
    "searching_frames": {"en": "Searching frames…", "zh": "正在搜索画面…"},
    "open_video": {"en": "Open video", "zh": "打开视频"},
    # evidence labels of search hits
    "ev_said": {"en": "said", "zh": "语音"},
    "ev_chapter": {"en": "chapter", "zh": "章节"},
    "ev_on_screen": {"en": "on screen", "zh": "屏幕"},
    "ev_frame": {"en": "frame", "zh": "画面"},
    "ev_time": {"en": "time", "zh": "时间"},
    "said_then": {"en": "said then ({when}): ", "zh": "当时说（{when}）："},
    # ingest stages, as the pipeline names them (ingest/pipeline.py step(...))
    "stage_queued": {"en": "queued", "zh": "排队中"},
    "stage_probe": {"en": "probe", "zh": "读取文件信息"},
    "stage_transcript": {"en": "transcript", "zh": "转写"},
    "stage_spans": {"en": "spans", "zh": "切分句子"},
    "stage_frames": {"en": "frames", "zh": "画面与屏幕文字"},
    "stage_chapters": {"en": "chapters", "zh": "章节"},
    "stage_index": {"en": "index", "zh": "索引"},
    "stage_embedding": {"en": "embedding", "zh": "向量化"},
    "stage_done": {"en": "done", "zh": "完成"},
}


def browser_language(locale: str | None) -> Lang:
    """The app's language for a browser's `navigator.language` ("zh-CN", "zh-Hant-TW" -> zh;
    anything else, or unknown, -> en)."""
    return "zh" if (locale or "").lower().split("-")[0] == "zh" else "en"


def tr(lang: Lang, key: str, **values) -> str:
    """The string `key` in `lang`, with `values` filled in."""
    return STRINGS[key][lang].format(**values)


def stage_name(lang: Lang, stage: str) -> str:
    """An ingest stage in `lang`; a stage the table does not know is shown as named."""
    key = f"stage_{stage}"
    return tr(lang, key) if key in STRINGS else stage


def count(lang: Lang, n: int, noun: str) -> str:
    """'1 video' / '3 videos' / '3 个视频': `noun` is a key stem with _<noun> and _<noun>s."""
    return tr(lang, f"n_{noun}" if n == 1 else f"n_{noun}s", n=n)

"""The `vidqa` command line. Each command: parse, call one function from qa/ or index/, render.

Errors from vidqa become one line on stderr and exit code 1; set VIDQA_RAISE_ERRORS=1
for the full traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from vidqa.settings import DEFAULT_CONTEXT_TOKENS, DEFAULT_EMBED_MODEL
from vidqa.timefmt import parse_clock

app = typer.Typer(
    help="Ask a video library questions and get answers that cite the clips they came from.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
eval_app = typer.Typer(
    help="Measure retrieval and chapter quality on an eval set.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
export_app = typer.Typer(help="Export the library as training data.", no_args_is_help=True)
app.add_typer(export_app, name="export")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
NlOpt = Annotated[bool, typer.Option("--nl", help="With --json: one JSON object per line.")]


def _video_ref(value: str | None) -> str | None:
    """An empty --video (an unset shell variable) is a mistake, never "the whole library"."""
    if value is not None and not value.strip():
        raise typer.BadParameter("the video reference is empty (give an id or a title)")
    return value


VideoOpt = Annotated[
    str | None,
    typer.Option("--video", "-v", help="Video id, id prefix or title.", callback=_video_ref),
]


def _out(text: str) -> None:
    typer.echo(text)


def _err(text: str) -> None:
    typer.echo(text, err=True)


@contextmanager
def user_errors():
    """Turn vidqa's own errors into a one-line message and exit code 1."""
    from vidqa.errors import VidqaError

    try:
        yield
    except VidqaError as e:
        if _raise_errors():
            raise
        _err(f"Error: {e}")
        raise typer.Exit(code=1) from None


def _raise_errors() -> bool:
    from vidqa.errors import ConfigError
    from vidqa.settings import env_flag

    try:
        return env_flag("VIDQA_RAISE_ERRORS")
    except ConfigError:  # a bad value is shown as the error it is, not as a traceback
        return False


def _library():
    from index.library import Library

    return Library()


def parse_seconds(value: str) -> float:
    """'90', '90.5', '1:30', '1:02:03' -> seconds, or a usage error."""
    seconds = parse_clock(value)
    if seconds is None:
        raise typer.BadParameter(f"{value!r} is not a time (use seconds, M:SS or H:MM:SS)")
    return seconds


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video/audio files or folders (recursed).")],
    language: Annotated[
        str | None, typer.Option(help="Spoken language, e.g. en, zh (default: detect).")
    ] = None,
    asr_model: Annotated[
        str | None, typer.Option(help="faster-whisper size, HF id or path.")
    ] = None,
    vlm: Annotated[
        str,
        typer.Option(
            help="Chapter model: auto (local Qwen3-VL on a GPU, else transcript chapters)|none|"
            "qwen3-vl-2b|qwen3-vl-4b|qwen3-vl-8b|HF id|path|openai:URL[#model]."
        ),
    ] = "auto",
    context: Annotated[
        int, typer.Option(help="VLM context budget in tokens.")
    ] = DEFAULT_CONTEXT_TOKENS,
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Re-ingest unchanged files.")
    ] = False,
    frames: Annotated[
        bool,
        typer.Option(
            "--frames/--no-frames", help="Index frames: thumbnails, on-screen text, CLIP."
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Stage tasks in flight; above 1 runs on Ray (a local one unless --ray)."
        ),
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Ray cluster address, e.g. auto or ray://head:10001 (default: VIDQA_RAY_ADDRESS).",
        ),
    ] = None,
    vlm_concurrency: Annotated[
        int,
        typer.Option(min=1, help="Chapter requests in flight to a served VLM, across all workers."),
    ] = 2,
    json_: JsonOpt = False,
):
    """Add videos to the library (transcript from subtitles, else speech recognition)."""
    from ingest.pipeline import ClusterOptions, IngestOptions
    from ui.progress import run_ingest
    from vidqa.settings import settings

    options = IngestOptions(
        language=language, asr_model=asr_model, vlm=vlm, context=context, force=force, frames=frames
    )
    with user_errors():
        cluster = ClusterOptions(
            workers=workers, address=ray or settings().ray_address, vlm_concurrency=vlm_concurrency
        )
        report = run_ingest([str(p) for p in paths], options, cluster)
    if json_:
        from dataclasses import asdict

        _out(
            _dumps(
                {
                    "results": [asdict(r) for r in report.results],
                    "failed": len(report.failed),
                    "total": len(report.results),
                }
            )
        )
    else:
        from ui.render import span_counts

        for r in report.results:
            if r.status == "failed":
                continue
            _out(
                f"{r.status:9}  {r.video_id}  {r.title}  "
                f"({r.transcript_source}; {span_counts(r.spans)})"
            )
    for note, names in _notes_by_text(report.results).items():
        _err(f"Note: {_file_list(names)}: {note}")
    for r in report.failed:
        _err(f"Error: {r.error}")
    if report.failed:
        raise typer.Exit(code=1)


def _print_rows(rows: list[dict], as_json: bool, nl: bool, line, empty: str) -> None:
    """JSON (or JSON lines) on stdout; else one human line per row, or `empty` on stderr."""
    if as_json:
        _out(_dumps(rows, nl=nl))
    elif not rows:
        _err(empty)
    else:
        _out("\n".join(line(r) for r in rows))


def _dumps(data, nl: bool = False) -> str:
    from ui.render import dumps

    return dumps(data, nl=nl)


VlmOpt = Annotated[
    str | None,
    typer.Option(
        help="Answer model: none|auto|qwen3-vl-2b|...|HF id|path|openai:URL[#model] (default: VIDQA_VLM)."
    ),
]


def _print_citations(answer, question: str) -> None:
    from qa.wording import language
    from ui.i18n import tr
    from ui.render import citation_line

    if answer.notes:  # vidqa's notes are in the question's language, and so is their label
        _err(tr(language(question), "note", text="; ".join(answer.notes)))
    if answer.citations:
        _out("")
        for n, c in enumerate(answer.citations, 1):
            _out(citation_line(n, c))
    if answer.status == "per_video":
        _err(tr(language(question), "note", text=tr(language(question), "cli_one_video")))


def _show(stream, question: str):
    """Print an AnswerStream as it comes (a VLM's validated sentences), then its citations."""
    for piece in stream:
        typer.echo(piece, nl=False)
    typer.echo("")
    _print_citations(stream.answer, question)
    return stream.answer


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "what was said at 25:00?"')],
    video: VideoOpt = None,
    k: Annotated[int, typer.Option(help="How many passages to retrieve.")] = 5,
    vlm: VlmOpt = None,
    json_: JsonOpt = False,
):
    """Answer a question with cited clips (video + start–end), or say it is not in the videos."""
    from qa.answer import answer

    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    with user_errors():
        stream = answer(
            question,
            library=_library(),
            scope=(video,) if video else (),
            k=k,
            backend=vlm,
            stream=not json_,
        )
        if json_:
            _out(_dumps(stream.answer.to_json()))
            return
        _show(stream, question)


@app.command()
def chat(
    video: VideoOpt = None,
    session: Annotated[
        str, typer.Option(help="Session name; resumes it if it exists.")
    ] = "default",
    vlm: VlmOpt = None,
    k: Annotated[int, typer.Option(help="How many passages to retrieve.")] = 5,
):
    """Ask follow-up questions ("and two minutes later?"); history persists per session."""
    from qa.chat import Conversation

    with user_errors():
        library = _library()
        scope = library.find_video(video).id if video else None
        conversation = Conversation.resume(session, video_id=scope, backend=vlm, k=k)
        _err(
            f"session {session!r} ({len(conversation.turns)} earlier turns); "
            "empty line or Ctrl-D ends"
        )
        while True:
            message = _read_line()
            if not message or message.strip().lower() in ("exit", "quit", ":q"):
                break
            _show(conversation.ask(message, library), message)


def _notes_by_text(results) -> dict[str, list[str]]:
    """Each note once, with the files it is about: a folder of 50 videos without CLIP weights
    printed the same two-line note 50 times."""
    notes: dict[str, list[str]] = {}
    for r in results:
        for note in r.notes:
            names = notes.setdefault(note, [])
            if (name := Path(r.path).name) not in names:
                names.append(name)
    return notes


def _file_list(names: list[str], shown: int = 3) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[: shown - 1])} and {len(names) - shown + 1} more files"


def _read_line() -> str | None:
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for (words).")] = None,
    image: Annotated[
        Path | None,
        typer.Option(help="Find frames that look like this picture.", exists=True, dir_okay=False),
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Number of results.")] = 10,
    video: VideoOpt = None,
    json_: JsonOpt = False,
    nl: NlOpt = False,
):
    """Search transcripts, chapters, on-screen text and frames across the library."""
    from ui.render import hit_line, hit_row

    if (query is None) == (image is None):
        raise typer.BadParameter("give a QUERY or --image PATH (one of them)")
    if query is not None and not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")
    with user_errors():
        library = _library()
        scope = library.find_video(video).id if video else None
        if image is not None:
            hits = library.search_image(image, k=k, video_id=scope)
        else:
            from qa.abstain import confident_hits

            hits = confident_hits(query, library.search(query, k=k, video_id=scope), library)
        videos = {v.id: v for v in library.videos()}
        rows = [
            hit_row(h, videos[h.span.video_id].title, videos[h.span.video_id].path) for h in hits
        ]
    # as `vidqa list` says it: nothing matching and nothing to search are not the same news
    empty = "No results." if videos else "The library is empty: vidqa ingest PATH"
    _print_rows(rows, json_ or nl, nl, hit_line, empty)


@app.command("list")
def list_videos(
    json_: JsonOpt = False,
    nl: NlOpt = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Include videos whose ingest did not finish.")
    ] = False,
):
    """List the videos in the library."""
    from index import text_model
    from ui.render import video_line, video_row

    with user_errors():
        library = _library()
        rows = [
            video_row(v, library.catalog.counts(v.id))
            for v in library.videos(include_incomplete=all_)
        ]
        outdated = text_model.outdated(library.cfg, library.catalog) if rows else None
    _print_rows(rows, json_ or nl, nl, video_line, "The library is empty: vidqa ingest PATH")
    if outdated:
        _err(
            f"Note: this library searches with {outdated}, an earlier default; `vidqa reindex` "
            f"moves it to {DEFAULT_EMBED_MODEL}, which ranks English and Chinese better"
        )


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@app.command()
def remove(
    video: Annotated[
        str, typer.Argument(help="Video id prefix (4+ characters) or its whole title.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Don't ask (needed when stdin is not a terminal).")
    ] = False,
):
    """Remove a video and everything indexed for it."""
    with user_errors():
        library = _library()
        target = library.find_video(video, exact=True)
        if not yes:
            if not _stdin_is_terminal():
                _err(
                    f"Error: not removing {target.id[:12]} ({target.title}) without --yes: "
                    "stdin is not a terminal to ask on"
                )
                raise typer.Exit(code=1)
            if not typer.confirm(
                f"Remove {target.id[:12]} ({target.title}) and its index?", err=True
            ):
                _err("Nothing removed.")
                raise typer.Exit(code=1)
        library.remove(target.id)
    _out(f"removed {target.id}  {target.title}")


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed.")] = False,
    json_: JsonOpt = False,
):
    """Check the library: catalog vs vector counts, leftovers of interrupted writes, moved files."""
    from dataclasses import asdict

    from index import doctor as checks

    with user_errors():
        library = _library()
        report = checks.check(library)
        if repair and report.findings:
            report = checks.repair(library, report)
    if json_:
        _out(_dumps({**asdict(report), "healthy": report.healthy}))
    else:
        _out(f"{len(report.videos)} videos checked")
        for f in report.findings:
            state = " (repaired)" if f.repaired else "" if f.fixable else " (needs you)"
            _out(f"{f.problem:18}  {f.detail}{state}")
        if not report.findings:
            _out("no problems found")
        elif not report.healthy and not repair:
            _err("Run vidqa doctor --repair to fix what can be fixed.")
    if not report.healthy:
        raise typer.Exit(code=1)


@app.command()
def reindex(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Text model to search with: a hub id or a local folder "
            "(default: vidqa's default for new libraries).",
        ),
    ] = DEFAULT_EMBED_MODEL,
    json_: JsonOpt = False,
):
    """Embed the library's text again with another search model (e.g. a library made when
    all-MiniLM-L6-v2 was the default). Search keeps the old model until every video is done."""
    from ui.progress import stage_progress

    with user_errors(), stage_progress() as progress:
        library = _library()
        before = library.text_model()
        moved = library.use_text_model(
            model, lambda done, total: progress("embedding", done, total)
        )
        after, videos = library.text_model(), len(library.videos())
    if json_:
        _out(_dumps({"model": after, "previous_model": before, "videos": moved}))
    elif moved:
        _out(f"{moved} video{'s' * (moved != 1)} now searched with {after} (was {before})")
    elif videos:
        _out(f"already searched with {after}: nothing to embed")
    else:
        _out(f"no videos yet: the library will search with {after}")


@app.command()
def clip(
    video: Annotated[str, typer.Argument(help="Video id, id prefix or title.")],
    start: Annotated[str, typer.Argument(help="Start: seconds, M:SS or H:MM:SS.")],
    end: Annotated[str, typer.Argument(help="End: seconds, M:SS or H:MM:SS.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the clip (default: TITLE_START_END.mp4 here).",
            show_default=False,
        ),
    ] = None,
):
    """Cut a cited clip to a playable file."""
    from qa.clips import clip_name, cut_clip

    t0, t1 = parse_seconds(start), parse_seconds(end)
    if t1 <= t0:
        raise typer.BadParameter(f"end ({end}) must be after start ({start})")
    with user_errors():
        target = _library().find_video(video)
        if not target.path:
            from vidqa.errors import MediaError

            raise MediaError(
                target.title, "no media file was ingested for this video (transcript only)"
            )
        if t0 >= target.duration:
            from vidqa.errors import MediaError
            from vidqa.timefmt import fmt_ts

            raise MediaError(
                target.path,
                f"the clip starts at {fmt_ts(t0)}, after the video "
                f"ends ({fmt_ts(target.duration)})",
            )
        t1 = min(t1, target.duration)
        output = output or Path(clip_name(target.title, t0, t1))
        out, how = cut_clip(target.path, t0, t1, output)
    _out(f"wrote {out} ({how}, {t1 - t0:.2f} s)")


@app.command()
def summary(
    video: Annotated[str, typer.Argument(help="Video id, id prefix or title.")],
    json_: JsonOpt = False,
):
    """Print a video's chapters, summary and key points (Markdown)."""
    from index.records import summary_to_dict
    from ui.render import summary_markdown

    with user_errors():
        library = _library()
        target = library.find_video(video)
        stored = library.summary(target.id)
    if stored is None:
        _err(f"Error: {target.title} has no summary yet: vidqa summarize {target.id[:12]}")
        raise typer.Exit(code=1)
    _out(
        _dumps(summary_to_dict(stored))
        if json_
        else summary_markdown(stored, target.title).rstrip()
    )


@app.command()
def summarize(
    video: Annotated[str | None, typer.Argument(help="Video id, id prefix or title.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every video in the library.")] = False,
    vlm: Annotated[str, typer.Option(help="Chapter model (see vidqa ingest --vlm).")] = "auto",
    context: Annotated[
        int, typer.Option(help="VLM context budget in tokens.")
    ] = DEFAULT_CONTEXT_TOKENS,
):
    """(Re)build chapter summaries for ingested videos, without redoing speech recognition."""
    from ingest.pipeline import IngestOptions, resummarize

    if bool(video) == all_:
        raise typer.BadParameter("give one video, or --all")
    with user_errors():
        library = _library()
        targets = library.videos() if all_ else [library.find_video(video)]
        for target in targets:
            result = resummarize(target, library, IngestOptions(vlm=vlm, context=context))
            for note in result.notes:
                _err(f"{target.title}: {note}")
            _out(
                f"{target.id[:12]}  {target.title}: {len(result.chapters)} chapters ({result.source})"
            )


def _run_eval(evaluate, directory: Path, **options) -> dict:
    """One eval over a set folder: the set read by ingest.evalset, progress on stderr."""
    from ingest.evalset import load_set
    from ui.progress import stage_progress

    with user_errors(), stage_progress() as progress:
        return evaluate(directory, load=load_set, progress=progress, **options)


@eval_app.command("retrieval")
def eval_retrieval(
    directory: Annotated[
        Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")
    ],
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    details: Annotated[
        Path | None,
        typer.Option(help="Write one JSON line per question: rank, top span, gold span."),
    ] = None,
    ablate: Annotated[
        bool,
        typer.Option(
            "--ablate", help="Also score the search with each component off (one row each)."
        ),
    ] = False,
    json_: JsonOpt = False,
):
    """Retrieval hit@1/hit@5/MRR within a video and library-wide, with latency."""
    from qa.evaluate import evaluate_retrieval

    metrics = _run_eval(evaluate_retrieval, directory, limit=limit, details=details, ablate=ablate)
    if json_:
        _out(_dumps(metrics))
        return
    _out(f"questions: {metrics['n']}")
    _out(
        f"within video: hit@1 {metrics['hit@1']:.3f}  hit@5 {metrics['hit@5']:.3f}  MRR {metrics['mrr']:.3f}"
    )
    _out(
        f"library-wide: right video@1 {metrics['library_video_hit@1']:.3f}  "
        f"@5 {metrics['library_video_hit@5']:.3f}  hit@1 {metrics['library_hit@1']:.3f}"
    )
    _out(f"latency: p50 {metrics['p50_ms']:.1f} ms  p95 {metrics['p95_ms']:.1f} ms")
    if "ablation" in metrics:
        _out(_ablation_table(metrics))


def _ablation_table(metrics: dict) -> str:
    rows = [("full", metrics), *metrics["ablation"].items()]
    lines = [
        f"{'search':40} {'hit@1':>6} {'hit@5':>6} {'video@1':>8} {'lib hit@1':>9} {'p50 ms':>7}"
    ]
    lines += [
        f"{name:40} {m['hit@1']:6.3f} {m['hit@5']:6.3f} {m['library_video_hit@1']:8.3f} "
        f"{m['library_hit@1']:9.3f} {m['p50_ms']:7.1f}"
        for name, m in rows
    ]
    return "\n".join(lines)


@export_app.command("sft")
def export_sft(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder to write the dataset to (LLaMA-Factory's dataset_dir).")
    ],
    video: Annotated[
        list[str] | None,
        typer.Option(
            "--video", "-v", help="Video id, id prefix or title; repeat for more (default: all)."
        ),
    ] = None,
    kinds: Annotated[
        str,
        typer.Option(
            help="Example kinds: chapters (summaries), timed (what is said when), ocr (text on screen)."
        ),
    ] = "chapters,timed,ocr",
    max_clip_s: Annotated[float, typer.Option(help="Longest clip, in seconds.")] = 60.0,
    fps: Annotated[
        float | None, typer.Option(help="Re-encode clips at this frame rate (default: copy).")
    ] = None,
    val: Annotated[float, typer.Option(help="Fraction of videos held out for validation.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed for the split and the questions asked.")] = 0,
    include_fallback: Annotated[
        bool,
        typer.Option(
            "--include-fallback", help="Also chapters summarised from the transcript (no VLM)."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print counts, clip minutes and disk size; cut nothing."),
    ] = False,
    json_: JsonOpt = False,
):
    """Write a LLaMA-Factory video fine-tuning dataset (sharegpt) with clips cut from the library."""
    from qa.export import ExportOptions, plan_export
    from qa.export import export_sft as run_export
    from ui.progress import stage_progress
    from ui.render import export_lines

    with user_errors():
        options = ExportOptions(
            videos=tuple(video or ()),
            seed=seed,
            max_clip_s=max_clip_s,
            kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()),
            fps=fps,
            val=val,
            include_fallback=include_fallback,
        )
        with stage_progress() as progress:
            if dry_run:
                summary, report = (
                    plan_export(out_dir, options, _library(), progress).summary(),
                    None,
                )
            else:
                report = run_export(out_dir, options, _library(), progress)
                summary = report.plan
    if json_:
        done = (
            {
                "cut": report.cut,
                "reused": report.reused,
                "failed": report.failed,
                "files": report.files,
            }
            if report
            else {}
        )
        _out(_dumps({"dry_run": report is None, **summary, **done}))
    else:
        _out("\n".join(export_lines(summary, report)))
    for note in summary["notes"]:
        _err(f"Note: {note}")
    for line in report.failed if report else ():
        _err(f"Error: {line}")
    if report and report.failed:
        raise typer.Exit(code=1)


@eval_app.command("chapters")
def eval_chapters(
    directory: Annotated[
        Path, typer.Argument(help="Eval set folder (videos.jsonl + transcripts).")
    ],
    pseudo_videos: Annotated[int, typer.Option(help="Pseudo-videos to build.")] = 20,
    natural_gaps: Annotated[
        bool,
        typer.Option(help="Keep each video's own lead-in/tail silence at the joins (a pause cue)."),
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N videos of the set.")] = None,
    json_: JsonOpt = False,
):
    """Chapter boundaries on pseudo-videos (joined transcripts): F1 within ±10 s, Pk, WindowDiff,
    ours beside nltk's TextTiling."""
    from ingest.chapter_eval import evaluate_chapters

    with user_errors():
        metrics = evaluate_chapters(
            directory, count=pseudo_videos, natural_gaps=natural_gaps, limit=limit
        )
    if json_:
        _out(_dumps(metrics))
        return
    _out(
        f"{metrics['pseudo_videos']} pseudo-videos from {metrics['videos']} videos, "
        f"{metrics['minutes']} min, {metrics['boundaries']} true boundaries "
        f"(joins {'with natural gaps' if natural_gaps else 'at the usual gap'})"
    )
    _out(
        f"{'':12} {'F1@±10s':>8} {'precision':>9} {'recall':>7} {'Pk':>6} {'WinDiff':>7} "
        f"{'chapters/true':>13}"
    )
    for name in ("ours", "texttiling"):
        m = metrics[name]
        _out(
            f"{name:12} {m['f1']:8.3f} {m['precision']:9.3f} {m['recall']:7.3f} {m['pk']:6.3f} "
            f"{m['windowdiff']:7.3f} {m['chapters_per_video']:13.2f}"
        )


SampleOpt = Annotated[
    int,
    typer.Option(help="Questions drawn evenly from the set (half each for calibrate and answers)."),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        help="Keep the eval libraries and each question's measurements here and reuse them "
        "(a rerun searches only new questions)."
    ),
]


@eval_app.command("answers")
def eval_answers(
    directory: Annotated[
        Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")
    ],
    sample: SampleOpt = 600,
    second_set: Annotated[
        bool,
        typer.Option(
            "--second-set/--no-second-set",
            help="Also measure a built-in general-lectures library (its own questions, each "
            "without its video, and 100 of DIR's questions).",
        ),
    ] = True,
    cache_dir: CacheDirOpt = None,
    json_: JsonOpt = False,
):
    """Answered when the library says, "Not found" when it does not (held-out video, off-topic)."""
    from qa.evaluate_answers import evaluate_answers

    metrics = _run_eval(
        evaluate_answers, directory, sample=sample, second_set=second_set, cache_dir=cache_dir
    )
    if json_:
        _out(_dumps(metrics))
        return
    _out(
        f"embedder: {metrics['embedder']}"
        + ("" if metrics["calibrated"] else " (not calibrated: run vidqa eval calibrate)")
    )
    _out(f"answered when answerable: {metrics['answer_rate']:.3f} of {metrics['n_answerable']}")
    _out(
        f"abstained when unanswerable: {metrics['abstain_rate']:.3f} of {metrics['n_unanswerable']} "
        f"(held-out video {metrics['abstain_rate_held_out_video']:.3f}, "
        f"off-topic {metrics['abstain_rate_off_topic']:.3f})"
    )
    if "n_held_out_labelled_unanswerable" in metrics:
        _out(
            f"held-out video, labelled by hand: abstained on "
            f"{metrics['abstain_rate_held_out_labelled_unanswerable']:.3f} of "
            f"{metrics['n_held_out_labelled_unanswerable']} truly unanswerable, answered "
            f"{metrics['answer_rate_held_out_labelled_answerable_elsewhere']:.3f} of "
            f"{metrics['n_held_out_labelled_answerable_elsewhere']} another video answers"
        )
    if second := metrics.get("second_set"):
        _out(
            f"{second['set']} library: answered {second['answer_rate']:.3f} of "
            f"{second['n_answerable']}, abstained on {second['abstain_rate_held_out_video']:.3f} "
            f"of {second['n_held_out_video']} without their video and on "
            f"{second['abstain_rate_other_set_questions']:.3f} of "
            f"{second['n_other_set_questions']} questions from {directory.name}"
        )


@eval_app.command("calibrate")
def eval_calibrate(
    directory: Annotated[
        Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")
    ],
    sample: SampleOpt = 600,
    write: Annotated[
        bool,
        typer.Option("--write/--no-write", help="Store the fitted threshold for this embedder."),
    ] = False,
    rule: Annotated[
        str,
        typer.Option(
            help="cosine-coverage (similarity + weight x coverage: what ships) or logistic (a "
            "model over similarity, coverage, IDF coverage, BM25, margin, agreement, question "
            "length and type; bench/abstain_fit.py compares them)."
        ),
    ] = "cosine-coverage",
    cache_dir: CacheDirOpt = None,
    json_: JsonOpt = False,
):
    """Fit when to say "Not found" for the configured text embedder (after changing it)."""
    from qa.evaluate_answers import calibrate_dir

    if rule not in ("logistic", "cosine-coverage"):
        raise typer.BadParameter(f"{rule}: choose logistic or cosine-coverage", param_hint="--rule")
    fitted = _run_eval(
        calibrate_dir,
        directory,
        sample=sample,
        write=write,
        kind=rule.replace("-", "_"),
        cache_dir=cache_dir,
    )
    if json_:
        _out(_dumps(fitted))
        return
    rule_text = (
        f"coverage weight {fitted['coverage_weight']}, threshold {fitted['threshold']}"
        if fitted["rule"] == "cosine_coverage"
        else f"logistic over {len(fitted['features'])} features, cut {fitted['threshold']}"
    )
    _out(
        f"{fitted['embedder']}: {rule_text} -> answer rate {fitted['answer_rate']:.3f}, "
        f"abstain rate {fitted['abstain_rate']:.3f} on the calibration half"
    )
    if write:
        _out(f"written to {fitted['written']}")


@app.command("ui")
def ui_command(
    port: Annotated[int, typer.Option(help="Port to serve the app on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
):
    """Open the app: library, ingest with progress, chat that plays cited clips."""
    import importlib.util

    from ui.app_logic import streamlit_command

    if importlib.util.find_spec("streamlit") is None:
        _err("Error: the app needs streamlit (pip install 'vidqa' installs it)")
        raise typer.Exit(code=1)
    _err(f"vidqa app on http://{host}:{port}  (Ctrl-C stops it)")
    raise typer.Exit(code=_serve(streamlit_command(port, host)))


def _serve(command: list[str]) -> int:
    """Run the streamlit server as a child that stops with this process: Ctrl-C, SIGTERM or
    SIGHUP to `vidqa ui` stop the child too (it would otherwise keep serving, orphaned)."""
    import signal
    import subprocess

    child = subprocess.Popen(command)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> None:
    app(prog_name="vidqa")


if __name__ == "__main__":
    sys.exit(main())

"""The `vidqa` command line. Each command: parse, call one function from qa/ or index/, render.

Errors from vidqa become one line on stderr and exit code 1; set VIDQA_RAISE_ERRORS=1
for the full traceback.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Ask a video library questions and get answers that cite the clips they came from.",
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)
eval_app = typer.Typer(help="Measure retrieval quality on an eval set.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
NlOpt = Annotated[bool, typer.Option("--nl", help="With --json: one JSON object per line.")]
VideoOpt = Annotated[str | None, typer.Option("--video", "-v", help="Video id, id prefix or title.")]


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
        if os.environ.get("VIDQA_RAISE_ERRORS", "").lower() in ("1", "true", "yes", "on"):
            raise
        _err(f"Error: {e}")
        raise typer.Exit(code=1) from None


def _library():
    from index.library import Library

    return Library()


def parse_seconds(value: str) -> float:
    """'90', '90.5', '1:30', '1:02:03' -> seconds."""
    try:
        parts = [float(p) for p in value.strip().split(":")]
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time (use seconds, M:SS or H:MM:SS)") from None
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise typer.BadParameter(f"{value!r} is not a time (use seconds, M:SS or H:MM:SS)")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video/audio files or folders (recursed).")],
    language: Annotated[str | None, typer.Option(help="Spoken language, e.g. en, zh (default: detect).")] = None,
    asr_model: Annotated[str | None, typer.Option(help="faster-whisper size, HF id or path.")] = None,
    vlm: Annotated[str, typer.Option(
        help="Chapter model: auto (local Qwen3-VL on a GPU, else transcript chapters)|none|"
             "qwen3-vl-2b|qwen3-vl-4b|qwen3-vl-8b|HF id|path|openai:URL[#model].")] = "auto",
    context: Annotated[int, typer.Option(help="VLM context budget in tokens.")] = 262_144,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Re-ingest unchanged files.")] = False,
    frames: Annotated[bool, typer.Option(
        "--frames/--no-frames", help="Index frames: thumbnails, on-screen text, CLIP.")] = True,
    json_: JsonOpt = False,
):
    """Add videos to the library (transcript from subtitles, else speech recognition)."""
    from ingest.pipeline import IngestOptions
    from ui.progress import run_ingest

    options = IngestOptions(language=language, asr_model=asr_model, vlm=vlm, context=context,
                            force=force, frames=frames)
    with user_errors():
        report = run_ingest([str(p) for p in paths], options)
    if json_:
        from dataclasses import asdict

        _out(_dumps({"results": [asdict(r) for r in report.results],
                     "failed": len(report.failed), "total": len(report.results)}))
    else:
        for r in report.results:
            if r.status == "failed":
                continue
            spans = ", ".join(f"{n} {k}" for k, n in sorted(r.spans.items()))
            _out(f"{r.status:9}  {r.video_id}  {r.title}  ({r.transcript_source}; {spans})")
    for r in report.results:
        for note in dict.fromkeys(r.notes):
            _err(f"Note: {Path(r.path).name}: {note}")
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


VlmOpt = Annotated[str | None, typer.Option(
    help="Answer model: none|auto|qwen3-vl-2b|...|HF id|path|openai:URL[#model] (default: VIDQA_VLM).")]


def _print_citations(answer) -> None:
    if answer.notes:
        _err("Note: " + "; ".join(answer.notes))
    if answer.citations:
        _out("")
        for n, c in enumerate(answer.citations, 1):
            _out(f"[{n}] {c.label}  {c.path or ''}  (vidqa clip {c.video_id[:12]} {c.start:.2f} {c.end:.2f})")
    if answer.status == "per_video":
        _err("Note: to ask about one video, name it in the question or use --video ID_OR_TITLE")


def _show(stream):
    """Print an AnswerStream as it comes (a VLM's validated sentences), then its citations."""
    for piece in stream:
        typer.echo(piece, nl=False)
    typer.echo("")
    _print_citations(stream.answer)
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
        stream = answer(question, library=_library(), scope=(video,) if video else (), k=k,
                        backend=vlm, stream=not json_)
        if json_:
            _out(_dumps(stream.answer.to_json()))
            return
        _show(stream)


@app.command()
def chat(
    video: VideoOpt = None,
    session: Annotated[str, typer.Option(help="Session name; resumes it if it exists.")] = "default",
    vlm: VlmOpt = None,
    k: Annotated[int, typer.Option(help="How many passages to retrieve.")] = 5,
):
    """Ask follow-up questions ("and two minutes later?"); history persists per session."""
    from qa.chat import Conversation

    with user_errors():
        library = _library()
        scope = library.find_video(video).id if video else None
        conversation = Conversation.resume(session, video_id=scope, backend=vlm, k=k)
        _err(f"session {session!r} ({len(conversation.turns)} earlier turns); "
             "empty line or Ctrl-D ends")
        while True:
            message = _read_line()
            if not message or message.strip().lower() in ("exit", "quit", ":q"):
                break
            _show(conversation.ask(message, library))


def _read_line() -> str | None:
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for (words).")] = None,
    image: Annotated[Path | None, typer.Option(help="Find frames that look like this picture.",
                                               exists=True, dir_okay=False)] = None,
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
        rows = [hit_row(h, videos[h.span.video_id].title, videos[h.span.video_id].path) for h in hits]
    _print_rows(rows, json_ or nl, nl, hit_line, "No results.")


@app.command("list")
def list_videos(
    json_: JsonOpt = False,
    nl: NlOpt = False,
    all_: Annotated[bool, typer.Option("--all", help="Include videos whose ingest did not finish.")] = False,
):
    """List the videos in the library."""
    from ui.render import video_line, video_row

    with user_errors():
        library = _library()
        rows = [video_row(v, library.catalog.counts(v.id))
                for v in library.videos(include_incomplete=all_)]
    _print_rows(rows, json_ or nl, nl, video_line, "The library is empty: vidqa ingest PATH")


@app.command()
def remove(video: Annotated[str, typer.Argument(help="Video id, id prefix or title.")]):
    """Remove a video and everything indexed for it."""
    with user_errors():
        library = _library()
        target = library.find_video(video)
        library.remove(target.id)
    _out(f"removed {target.id}  {target.title}")


@app.command()
def clip(
    video: Annotated[str, typer.Argument(help="Video id, id prefix or title.")],
    start: Annotated[str, typer.Argument(help="Start: seconds, M:SS or H:MM:SS.")],
    end: Annotated[str, typer.Argument(help="End: seconds, M:SS or H:MM:SS.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the clip.")] = Path("clip.mp4"),
):
    """Cut a cited clip to a playable file."""
    from qa.clips import cut_clip

    t0, t1 = parse_seconds(start), parse_seconds(end)
    if t1 <= t0:
        raise typer.BadParameter(f"end ({end}) must be after start ({start})")
    with user_errors():
        target = _library().find_video(video)
        if not target.path:
            from vidqa.errors import MediaError

            raise MediaError(target.title, "no media file was ingested for this video (transcript only)")
        out, how = cut_clip(target.path, t0, min(t1, target.duration), output)
    _out(f"wrote {out} ({how}, {min(t1, target.duration) - t0:.2f} s)")


@app.command()
def summary(
    video: Annotated[str, typer.Argument(help="Video id, id prefix or title.")],
    json_: JsonOpt = False,
):
    """Print a video's chapters, summary and key points (Markdown)."""
    from ingest.chapters import summary_from_dict, summary_markdown

    with user_errors():
        library = _library()
        target = library.find_video(video)
        stored = library.summary(target.id)
    if stored is None:
        _err(f"Error: {target.title} has no summary yet: vidqa summarize {target.id[:12]}")
        raise typer.Exit(code=1)
    _out(_dumps(stored) if json_ else summary_markdown(summary_from_dict(stored), target.title).rstrip())


@app.command()
def summarize(
    video: Annotated[str | None, typer.Argument(help="Video id, id prefix or title.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every video in the library.")] = False,
    vlm: Annotated[str, typer.Option(help="Chapter model (see vidqa ingest --vlm).")] = "auto",
    context: Annotated[int, typer.Option(help="VLM context budget in tokens.")] = 262_144,
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
            for note in result.get("notes", []):
                _err(f"{target.title}: {note}")
            _out(f"{target.id[:12]}  {target.title}: {len(result['chapters'])} chapters ({result['source']})")


@eval_app.command("retrieval")
def eval_retrieval(
    directory: Annotated[Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")],
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    json_: JsonOpt = False,
):
    """Retrieval hit@1/hit@5/MRR within a video and library-wide, with latency."""
    from qa.evaluate import evaluate_retrieval
    from ui.progress import stage_progress

    with user_errors(), stage_progress() as progress:
        metrics = evaluate_retrieval(directory, limit=limit, progress=progress)
    if json_:
        _out(_dumps(metrics))
        return
    _out(f"questions: {metrics['n']}")
    _out(f"within video: hit@1 {metrics['hit@1']:.3f}  hit@5 {metrics['hit@5']:.3f}  MRR {metrics['mrr']:.3f}")
    _out(f"library-wide: right video@1 {metrics['library_video_hit@1']:.3f}  hit@1 {metrics['library_hit@1']:.3f}")
    _out(f"latency: p50 {metrics['p50_ms']:.1f} ms  p95 {metrics['p95_ms']:.1f} ms")


SampleOpt = Annotated[int, typer.Option(help="Questions drawn evenly from the set (half each for "
                                             "calibrate and answers).")]


@eval_app.command("answers")
def eval_answers(
    directory: Annotated[Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")],
    sample: SampleOpt = 600,
    json_: JsonOpt = False,
):
    """Answered when the library says, "Not found" when it does not (held-out video, off-topic)."""
    from qa.evaluate_answers import evaluate_answers
    from ui.progress import stage_progress

    with user_errors(), stage_progress() as progress:
        metrics = evaluate_answers(directory, sample=sample, progress=progress)
    if json_:
        _out(_dumps(metrics))
        return
    _out(f"embedder: {metrics['embedder']}" + ("" if metrics["calibrated"] else " (not calibrated: "
                                                "run vidqa eval calibrate)"))
    _out(f"answered when answerable: {metrics['answer_rate']:.3f} of {metrics['n_answerable']}")
    _out(f"abstained when unanswerable: {metrics['abstain_rate']:.3f} of {metrics['n_unanswerable']} "
         f"(held-out video {metrics['abstain_rate_held_out_video']:.3f}, "
         f"off-topic {metrics['abstain_rate_off_topic']:.3f})")


@eval_app.command("calibrate")
def eval_calibrate(
    directory: Annotated[Path, typer.Argument(help="Eval set folder (videos.jsonl, questions.jsonl).")],
    sample: SampleOpt = 600,
    write: Annotated[bool, typer.Option("--write/--no-write",
                                        help="Store the fitted threshold for this embedder.")] = False,
    json_: JsonOpt = False,
):
    """Fit when to say "Not found" for the configured text embedder (after changing it)."""
    from qa.evaluate_answers import calibrate_dir
    from ui.progress import stage_progress

    with user_errors(), stage_progress() as progress:
        fitted = calibrate_dir(directory, sample=sample, write=write, progress=progress)
    if json_:
        _out(_dumps(fitted))
        return
    _out(f"{fitted['embedder']}: coverage weight {fitted['coverage_weight']}, threshold "
         f"{fitted['threshold']} -> answer rate {fitted['answer_rate']:.3f}, abstain rate "
         f"{fitted['abstain_rate']:.3f} on the calibration half")
    if write:
        _out(f"written to {fitted['written']}")


@app.command("ui")
def ui_command(
    port: Annotated[int, typer.Option(help="Port to serve the app on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
):
    """Open the app: library, ingest with progress, chat that plays cited clips."""
    import importlib.util
    import subprocess

    from ui.app_logic import streamlit_command

    if importlib.util.find_spec("streamlit") is None:
        _err("Error: the app needs streamlit (pip install 'vidqa' installs it)")
        raise typer.Exit(code=1)
    _err(f"vidqa app on http://{host}:{port}  (Ctrl-C stops it)")
    try:
        code = subprocess.run(streamlit_command(port, host), check=False).returncode
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code=code)


def main() -> None:
    app(prog_name="vidqa")


if __name__ == "__main__":
    sys.exit(main())


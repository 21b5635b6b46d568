"""Generated test media: known words at known times, never committed.

espeak-ng speaks each sentence to a wav; the clips are laid out with fixed
silences in Python (exact sample counts, so the timeline is exact), and ffmpeg
renders one coloured slide per sentence (drawn with Pillow) shown exactly
while it is spoken, to within one frame.
The real times go to `<stem>.timeline.json` so tests can check ASR, frames
and OCR against ground truth instead of guessed constants.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import zh_speech

LEAD_IN_S = 0.5  # silence before the first sentence (s): whisper clips hard starts
GAP_S = 0.8  # silence between sentences (s)
TAIL_S = 0.7  # silence after the last sentence (s)
SPEECH_RATE_WPM = 150  # espeak-ng -s
SAMPLE_RATE = 22050  # Hz, espeak-ng's native output rate
GAP_COLOR = "#202020"  # background between slides
SLIDE_COLORS = (
    "#1f4e79",
    "#7b2d26",
    "#2e6b30",
    "#6a3d9a",
    "#8a6d00",
    "#00607a",
    "#7a004f",
    "#4d4d4d",
)
FONT_SIZE = 28  # px at 360 px frame height; scaled with the height
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
# Slides with Chinese need a font that has the glyphs (DejaVu draws boxes): Debian's
# fonts-wqy-zenhei (`make sysdeps-test`), or Noto CJK where a machine has that instead.
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
CJK_TEXT = re.compile(r"[\u3400-\u9fff]")

Sentence = tuple[str, str]  # (slide_text, spoken_text)

# Eight sentences on unrelated topics, each with words no other sentence uses,
# so a search or an ASR check can tell exactly which moment it found.
LECTURE = [
    (
        "STEP 1 PHOTOSYNTHESIS",
        "Photosynthesis turns sunlight, water and carbon dioxide into glucose inside the "
        "chloroplasts of green leaves.",
    ),
    (
        "STEP 2 FRENCH REVOLUTION",
        "In seventeen eighty nine, angry crowds in Paris stormed the Bastille and the French "
        "Revolution began.",
    ),
    (
        "STEP 3 NEURAL NETWORKS",
        "A neural network learns by adjusting its weights with backpropagation and gradient "
        "descent.",
    ),
    (
        "STEP 4 VOLCANOES",
        "Volcanoes erupt when molten magma rises through the crust and bursts out as lava and ash.",
    ),
    (
        "STEP 5 JAZZ",
        "Jazz musicians in New Orleans mixed the blues with ragtime and loved to improvise on the "
        "saxophone.",
    ),
    (
        "STEP 6 TAX LAW",
        "Under tax law, a deduction lowers your taxable income before the government calculates "
        "what you owe.",
    ),
    (
        "STEP 7 GLACIERS",
        "Glaciers are slow rivers of ice that carve deep valleys and fjords into the mountains.",
    ),
    (
        "STEP 8 CHESS",
        "In chess, castling moves the king two squares while the rook jumps over to protect it.",
    ),
]


# --- checking what a recogniser heard -------------------------------------------------
# int8 ASR kernels differ by CPU (AVX2 vs AVX-512), so the exact words tiny.en hears differ by
# machine ("carve deep valleys" on one, "it odds into" on another). Tests check the share of a
# sentence's content words that came back, never one particular word.
HEARD_SHARE = 0.4  # at least this share of a sentence's content words must be heard
_STOPWORDS = {
    "the",
    "and",
    "into",
    "with",
    "when",
    "that",
    "what",
    "your",
    "over",
    "while",
    "before",
    "through",
    "inside",
    "under",
    "from",
    "this",
    "they",
    "their",
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def content_words(spoken: str) -> list[str]:
    """The words of a sentence worth checking: 4+ letters, not glue words."""
    return [w for w in dict.fromkeys(_words(spoken)) if len(w) >= 4 and w not in _STOPWORDS]


def heard_share(text: str, spoken: str) -> float:
    """Share of `spoken`'s content words found in `text` (a plural or a stem counts: glacier/s)."""
    heard = {w[:6] for w in _words(text)}
    wanted = content_words(spoken)
    return sum(w[:6] in heard for w in wanted) / len(wanted)


_HAN = re.compile(r"[\u4e00-\u9fff]")


def heard_characters(text: str, spoken: str) -> float:
    """heard_share for Chinese: share of `spoken`'s distinct Han characters found in `text`
    (a traditional form, 陽 for 阳, or another language counts as missing)."""
    wanted = set(_HAN.findall(spoken))
    return len(wanted & set(_HAN.findall(text))) / len(wanted)


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({result.returncode}): {result.stderr[-2000:]}")


# --- small clips for the decoder tests: the awkward cases, a few seconds each ------

RAMP_FPS = 25
RAMP_SECONDS = 4
RAMP_GOP = 50  # frames: a key frame every 2 s
RAMP_STEP = 2 * 255 / 219  # RGB gray levels per frame (limited-range luma 16 + 2 N)
VFR_TIMES = [i / 25 for i in range(50)] + [2 + i / 5 for i in range(10)]  # 25 fps, then 5 fps


def _ffmpeg(*args: str) -> None:
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {result.stderr[-1500:]}")


def make_clips(folder: Path) -> dict[str, Path]:
    """Small clips covering the awkward cases; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = {name: folder / f"{name}.mp4" for name in ("ramp", "rotated", "vfr", "ten_bit", "odd")}
    clips["audio"] = folder / "audio.m4a"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s=64x48:r={RAMP_FPS}:d={RAMP_SECONDS}",
        "-vf",
        "geq=lum='16+2*N':cb=128:cr=128",
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-g",
        str(RAMP_GOP),
        "-pix_fmt",
        "yuv420p",
        str(clips["ramp"]),
    )
    pattern = folder / "pattern.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=25:d=2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(pattern),
    )
    _ffmpeg("-i", str(pattern), "-c", "copy", "-metadata:s:v", "rotate=90", str(clips["rotated"]))
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=25:d=4",
        "-vf",
        "setpts='if(lt(N,50),N/25,2+(N-50)/5)/TB'",
        "-vsync",
        "vfr",
        "-frames:v",
        str(len(VFR_TIMES)),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(clips["vfr"]),
    )
    two_colours = "color=c=0x4080c0:s=64x48:r=25:d=1,drawbox=w=32:h=48:color=0xe0a040:t=fill"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        two_colours,
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p10le",
        str(clips["ten_bit"]),
    )
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=333x187:rate=30:d=1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv444p",
        str(clips["odd"]),
    )
    _ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(clips["audio"])
    )
    return clips


def find_font(cjk: bool = False) -> str | None:
    """A TrueType font file for the slides, or None for Pillow's built-in font; with `cjk`,
    one that draws Chinese, or None when the machine has none."""
    for candidate in CJK_FONT_CANDIDATES if cjk else FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    if cjk and shutil.which("fc-list"):  # any installed font that covers Chinese
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], check=False, capture_output=True, text=True
        ).stdout.split()
        return next((f.rstrip(":") for f in sorted(out) if Path(f.rstrip(":")).exists()), None)
    if not cjk and shutil.which("fc-match"):
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", "sans:bold"], check=False, capture_output=True, text=True
        ).stdout.strip()
        if out and Path(out).exists():
            return out
    return None


def _speak(text: str, out: Path, voice: str) -> bytes:
    """espeak-ng `text` to `out`; return its mono 16-bit PCM frames."""
    _run(["espeak-ng", "-v", voice, "-s", str(SPEECH_RATE_WPM), "-w", str(out), text])
    return _read_pcm(out)


def _silence(seconds: float) -> bytes:
    return b"\x00\x00" * round(seconds * SAMPLE_RATE)


def _read_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as clip:
        if (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise RuntimeError(f"{path}: unexpected wav format")
        return clip.readframes(clip.getnframes())


def _clips(sentences: list[Sentence], work: Path, voice: str) -> list[bytes]:
    """Each sentence spoken: espeak-ng's `voice`, or zh_speech's neural Mandarin."""
    if voice == zh_speech.VOICE:
        texts = [spoken for _, spoken in sentences]
        paths = zh_speech.synthesize(texts, work / "tts", SAMPLE_RATE)
        return [_read_pcm(path) for path in paths]
    return [_speak(spoken, work / f"s{i}.wav", voice) for i, (_, spoken) in enumerate(sentences)]


def _build_audio(sentences: list[Sentence], work: Path, voice: str) -> tuple[Path, list[dict]]:
    """One wav with every sentence, and the timeline of when each is spoken."""
    pcm = bytearray(_silence(LEAD_IN_S))
    timeline = []
    clips = _clips(sentences, work, voice)
    for i, ((slide, spoken), clip) in enumerate(zip(sentences, clips, strict=True)):
        if i:
            pcm += _silence(GAP_S)
        start = len(pcm) / 2 / SAMPLE_RATE
        pcm += clip
        end = len(pcm) / 2 / SAMPLE_RATE
        timeline.append(
            {"start": round(start, 3), "end": round(end, 3), "slide": slide, "spoken": spoken}
        )
    pcm += _silence(TAIL_S)
    audio = work / "speech.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(pcm))
    return audio, timeline


def _font(height: int, text: str = ""):
    """The slide font at `height` px frames: one that draws Chinese when `text` has any."""
    from PIL import ImageFont

    size = round(FONT_SIZE * height / 360)
    cjk = bool(CJK_TEXT.search(text))
    path = find_font(cjk)
    if cjk and not path:
        raise RuntimeError("no font with Chinese glyphs: apt-get install fonts-wqy-zenhei")
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _draw_slide(text: str, color: str, size: tuple[int, int], font, out: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(image).multiline_text(
            (size[0] / 2, size[1] / 2), text, font=font, fill="white", anchor="mm", align="center"
        )
    image.save(out)
    return out


def _slide_list(timeline: list[dict], total: float, size: tuple[int, int], work: Path) -> Path:
    """An ffmpeg concat list: each slide held for exactly its sentence, a blank in between.

    Slides are drawn once with Pillow and held by the concat demuxer, which is
    twice as fast as per-frame drawtext and needs no libfreetype in ffmpeg.
    """
    font = _font(size[1], "".join(item["slide"] for item in timeline))  # Chinese titles too
    gap = _draw_slide("", GAP_COLOR, size, font, work / "gap.png")
    lines, clock = [], 0.0
    for i, item in enumerate(timeline):
        if item["start"] > clock:
            lines += [f"file '{gap}'", f"duration {item['start'] - clock:.3f}"]
        color = SLIDE_COLORS[i % len(SLIDE_COLORS)]
        slide = _draw_slide(item["slide"], color, size, font, work / f"slide{i}.png")
        lines += [f"file '{slide}'", f"duration {item['end'] - item['start']:.3f}"]
        clock = item["end"]
    # The concat demuxer ignores the last entry's duration unless the file repeats.
    lines += [f"file '{gap}'", f"duration {max(total - clock, 0.04):.3f}", f"file '{gap}'"]
    listing = work / "slides.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listing


AAC = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k"]  # fast coder: 2x faster, fine for ASR


def _render_video(
    audio: Path, timeline: list[dict], out: Path, size: tuple[int, int], fps: int, work: Path
) -> None:
    duration = _wav_duration(audio)
    listing = _slide_list(timeline, duration, size, work)
    _run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-i",
            str(audio),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-vf",
            f"fps={fps},format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(2 * fps),
            *AAC,
            "-t",
            f"{duration:.3f}",
            str(out),
        ]
    )


def _wav_duration(path: Path) -> float:
    with wave.open(str(path)) as clip:
        return clip.getnframes() / clip.getframerate()


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def srt_text(cues) -> str:
    """Subtitles for (start s, end s, text) cues."""
    blocks = [
        f"{i}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n"
        for i, (start, end, text) in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def write_srt(timeline: list[dict], out: Path) -> Path:
    cues = [(item["start"], item["end"], item["spoken"]) for item in timeline]
    out.write_text(srt_text(cues), encoding="utf-8")
    return out


def make_lecture(
    out_dir,
    sentences: list[Sentence],
    *,
    size=(640, 360),
    fps=25,
    with_srt=False,
    audio_only=False,
    voice="en",
    stem="lecture",
) -> Path:
    """Render a spoken slide lecture; also write `<stem>.timeline.json` (and `.srt`)."""
    out_dir = Path(out_dir).resolve()  # ffmpeg resolves concat-list paths against the list
    work = out_dir / f".{stem}-work"
    work.mkdir(parents=True, exist_ok=True)
    audio, timeline = _build_audio(sentences, work, voice)
    if audio_only:
        out = out_dir / f"{stem}.m4a"
        _run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(audio), *AAC, str(out)])
    else:
        out = out_dir / f"{stem}.mp4"
        _render_video(audio, timeline, out, size, fps, work)
    (out_dir / f"{stem}.timeline.json").write_text(json.dumps(timeline, indent=1))
    if with_srt:
        write_srt(timeline, out_dir / f"{stem}.srt")
    shutil.rmtree(work)
    return out


def ingest_without_vlm(media: Path, home: Path, kinds=("chapter", "ocr")) -> list[list]:
    """Ingest `media` (frames and OCR on, no VLM) into the library at `home`; its spans of
    each of `kinds` (index.records.Span lists)."""
    import os
    from dataclasses import replace

    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest
    from vidqa.settings import settings

    saved = os.environ.get("VIDQA_HOME")
    os.environ["VIDQA_HOME"] = str(home)
    try:
        library = Library(replace(settings(), home=home))
        (result,) = ingest([media], library=library, options=IngestOptions(vlm="none")).results
        assert result.status == "ingested", result
        found = [library.spans(result.video_id, (kind,)) for kind in kinds]
        library.close()
        return found
    finally:
        if saved is None:
            os.environ.pop("VIDQA_HOME", None)
        else:
            os.environ["VIDQA_HOME"] = saved


def load_timeline(media: Path) -> list[dict]:
    return json.loads(media.with_name(f"{media.stem}.timeline.json").read_text())


def make_tone_video(out: Path, seconds: float = 3.0, fps: int = 25) -> Path:
    """A small test-pattern + sine mp4 (moov atom at the end, as ffmpeg writes by default)."""
    _run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=320x240:rate={fps}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(2 * fps),
            *AAC,
            "-shortest",
            str(out),
        ]
    )
    return out


TRUNCATE_FRACTION = 0.3  # keep the first 30% of a real mp4: the moov atom is lost


def make_broken(out_dir) -> dict[str, Path]:
    """Files that look like media but are not: truncated, renamed text, zero bytes, a .txt."""
    out_dir = Path(out_dir).resolve()  # ffmpeg resolves concat-list paths against the list
    out_dir.mkdir(parents=True, exist_ok=True)
    whole = make_tone_video(out_dir / ".whole.mp4")
    data = whole.read_bytes()
    whole.unlink()
    truncated = out_dir / "truncated.mp4"
    truncated.write_bytes(data[: int(len(data) * TRUNCATE_FRACTION)])
    not_media = out_dir / "notes.mp4"
    not_media.write_text("These are my lecture notes, not a video.\n" * 20)
    empty = out_dir / "empty.mp4"
    empty.write_bytes(b"")
    # ffmpeg's tty demuxer opens a .txt as a 0:00 "video" of drawn characters
    text = out_dir / "notes.txt"
    text.write_text("".join(f"Lecture notes, line {i}: not a video.\n" for i in range(60)))
    return {"truncated": truncated, "not_media": not_media, "empty": empty, "text": text}


CORRUPT_BYTES = 4000  # bytes of noise written over the middle of the media data


def make_corrupt_packet(src: Path, out: Path, seed: int = 0) -> Path:
    """A copy of an mp4 with noise over the middle of its `mdat` box: the container is whole,
    the packets around the middle are not (ffmpeg decodes the rest)."""
    import random

    data = bytearray(Path(src).read_bytes())
    mdat = data.find(b"mdat")
    if mdat < 0:
        raise RuntimeError(f"{src}: no mdat box")
    middle = mdat + (len(data) - mdat) // 2
    noise = random.Random(seed)
    data[middle : middle + CORRUPT_BYTES] = bytes(
        noise.randrange(256) for _ in range(CORRUPT_BYTES)
    )
    Path(out).write_bytes(bytes(data))
    return Path(out)


# --- a slide lecture of a few topics: chapters and text that appears inside a slide ---

TOPIC_CUE_S = 4.0  # s from one subtitle cue to the next within a topic
TOPIC_PAUSE_S = 6.0  # s of silence between topics
TOPIC_FPS = 5  # the slides are still: a low frame rate renders fast


@dataclass(frozen=True)
class Topic:
    title: str  # the slide's title (top of the slide)
    body: str  # a line under it
    sentences: tuple[str, ...]  # subtitle cues, one every TOPIC_CUE_S
    overlay: tuple[str, float, float] | None = None  # (text, from, to) s into the slide


TOPICS = (
    Topic(
        "How Plants Make Food",
        "chloroplasts and light",
        (
            "Plants make their own food from light.",
            "Inside each leaf, chloroplasts hold the green pigment chlorophyll.",
            "Chlorophyll absorbs red and blue sunlight.",
            "The energy splits water into hydrogen and oxygen.",
            "Carbon dioxide enters the leaf through tiny pores called stomata.",
            "The plant joins carbon dioxide and hydrogen into glucose.",
            "Glucose feeds the growing roots, stems and leaves.",
            "Oxygen leaves the plant as a by-product of photosynthesis.",
            "Without sunlight, photosynthesis slows and finally stops.",
            "That is how every green plant feeds itself.",
        ),
    ),
    Topic(
        "Why Volcanoes Erupt",
        "magma, pressure and lava",
        (
            "Deep below the crust, rock melts into magma.",
            "Magma is lighter than the solid rock around it, so it rises.",
            "Gas dissolved in the magma builds enormous pressure.",
            "When the pressure beats the strength of the crust, the volcano erupts.",
            "Lava pours out of the vent and down the slopes.",
            "Explosive eruptions throw ash high into the atmosphere.",
            "Volcanic ash can ground aeroplanes for days.",
            "Over time, layers of lava and ash build a cone.",
            "Geologists watch tremors to warn people before an eruption.",
            "Some volcanoes sleep for centuries before they wake.",
        ),
        overlay=("Sample XK-4471", 20.0, 40.0),
    ),
    Topic(
        "Where Jazz Began",
        "New Orleans, blues and ragtime",
        (
            "Jazz was born in New Orleans around nineteen hundred.",
            "Musicians mixed the blues with ragtime and brass band marches.",
            "Improvisation became the heart of every performance.",
            "The trumpet and the clarinet carried the melody.",
            "Louis Armstrong made the improvised solo famous.",
            "Swing bands filled dance halls in the nineteen thirties.",
            "Bebop players raced through complex chord changes.",
            "The saxophone became the voice of modern jazz.",
            "Jazz musicians still improvise on old standards.",
            "Every night, a jazz band plays something new.",
        ),
    ),
)


def topic_timeline(topics=TOPICS) -> list[dict]:
    """When each topic's slide is shown and each of its cues is said (s)."""
    out, clock = [], LEAD_IN_S
    for i, topic in enumerate(topics):
        clock += TOPIC_PAUSE_S if i else 0.0
        cues = [
            {
                "start": round(clock + j * TOPIC_CUE_S, 3),
                "end": round(clock + j * TOPIC_CUE_S + TOPIC_CUE_S - 0.5, 3),
                "spoken": text,
            }
            for j, text in enumerate(topic.sentences)
        ]
        out.append({"title": topic.title, "start": cues[0]["start"], "cues": cues})
        clock = cues[-1]["end"]
    for item, after in zip(out, [*out[1:], None], strict=True):
        item["end"] = after["start"] if after else round(clock + TAIL_S, 3)
    return out


def make_topic_lecture(out_dir, topics=TOPICS, *, size=(640, 360), stem="topics") -> Path:
    """A silent slide lecture with a sidecar .srt: one slide per topic (title at the top),
    pauses between topics, and each topic's overlay text shown only part of its slide.
    Writes `<stem>.timeline.json` (topics with their slide times and cues)."""
    out_dir = Path(out_dir).resolve()
    work = out_dir / f".{stem}-work"
    work.mkdir(parents=True, exist_ok=True)
    timeline = topic_timeline(topics)
    lines = []
    for i, (topic, item) in enumerate(zip(topics, timeline, strict=True)):
        color = SLIDE_COLORS[i % len(SLIDE_COLORS)]
        plain = _draw_topic_slide(topic, color, size, work / f"t{i}.png", overlay=False)
        cuts = [item["start"] if i else 0.0, item["end"]]
        if topic.overlay:
            _, since, until = topic.overlay
            shown = _draw_topic_slide(topic, color, size, work / f"t{i}o.png", overlay=True)
            cuts = [cuts[0], item["start"] + since, item["start"] + until, cuts[1]]
            pictures = [plain, shown, plain]
        else:
            pictures = [plain]
        for picture, (a, b) in zip(pictures, pairwise(cuts), strict=True):
            lines += [f"file '{picture}'", f"duration {b - a:.3f}"]
    lines.append(lines[-2])  # the concat demuxer honours the last duration only when repeated
    listing = work / "slides.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = timeline[-1]["end"]
    out = out_dir / f"{stem}.mp4"
    _run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=16000:cl=mono",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-vf",
            f"fps={TOPIC_FPS},format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(2 * TOPIC_FPS),
            *AAC,
            "-t",
            f"{total:.3f}",
            str(out),
        ]
    )
    cues = [cue for item in timeline for cue in item["cues"]]
    write_srt(cues, out_dir / f"{stem}.srt")
    (out_dir / f"{stem}.timeline.json").write_text(json.dumps(timeline, indent=1))
    shutil.rmtree(work)
    return out


def _draw_topic_slide(
    topic: Topic, color: str, size: tuple[int, int], out: Path, *, overlay: bool
) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    w, h = size
    text = f"{topic.title}{topic.body}{topic.overlay}"
    title_font, font = _font(round(h * 1.3), text), _font(round(h * 0.8), text)
    draw.text((w / 2, h * 0.18), topic.title, font=title_font, fill="white", anchor="mm")
    draw.text((w / 2, h * 0.5), topic.body, font=font, fill="white", anchor="mm")
    if overlay and topic.overlay:
        draw.text(
            (w / 2, h * 0.8),
            topic.overlay[0],
            font=font,
            fill="yellow",
            anchor="mm",
        )
    image.save(out)
    return out


if __name__ == "__main__":  # `python tests/media.py OUT_DIR`: the sample lecture for `make demo`
    import sys

    print(make_lecture(Path(sys.argv[1] if len(sys.argv) > 1 else "demo"), LECTURE, with_srt=False))

"""vidqa as a LangChain Runnable: a thin adapter around qa.answer.answer.

    from qa.chain import build_chain
    chain = build_chain(vlm="openai:http://gpu-box:8000/v1")
    answer = chain.invoke({"question": "what was said at 25:00?", "video": "Intro talk"})
    answer.answer, answer.citations

Input: a question string or {"question", "video"?, "time"?, "kinds"?}. Output: a
qa.citations.Answer (or a qa.citations.AnswerStream when built with stream=True).
The work is all in qa.answer, the same path `vidqa ask`, `vidqa chat` and the app take.
"""

from __future__ import annotations

from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict

from index.library import Library
from qa.answer import answer, resolve_backend
from qa.timeparse import TimeRef


class ChainInput(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    question: str
    video: str | None = None  # id, id prefix or title
    time: TimeRef | None = None  # already resolved: skips parsing the question
    kinds: tuple[str, ...] | None = None  # what a time lookup returns; None: as the question asks


def build_chain(
    *, library: Library | None = None, vlm=None, k: int = 5, stream: bool = False
) -> Runnable:
    library = library or Library()
    backend = resolve_backend(vlm) or "none"  # resolved once, not per question

    def run(inp: str | dict):
        request = ChainInput(question=inp) if isinstance(inp, str) else ChainInput(**inp)
        result = answer(
            request.question,
            library=library,
            backend=backend,
            k=k,
            scope=(request.video,) if request.video else (),
            time=request.time,
            kinds=tuple(request.kinds) if request.kinds else None,
            stream=stream,
        )
        return result if stream else result.answer

    return RunnableLambda(run, name="vidqa")

"""The QA pipeline as a LangChain Runnable: retriever | prompt | model | citation parser.

    from qa.chain import build_chain
    chain = build_chain(vlm="openai:http://gpu-box:8000/v1")
    answer = chain.invoke({"question": "what was said at 25:00?", "video": "Intro talk"})
    answer.answer, answer.citations

Input: a question string or {"question", "video"?, "time"?, "kinds"?}. Output: a
qa.citations.Answer (or a qa.grounded.AnswerStream when built with stream=True).
`vidqa ask`, `vidqa chat` and the app all run this chain.
"""

from __future__ import annotations

from langchain_core.runnables import Runnable, RunnableLambda

from index.library import Library
from qa import grounded
from qa.answer import extractive_answer, gather, resolve_backend


def build_chain(*, library: Library | None = None, vlm=None, k: int = 5,
                stream: bool = False) -> Runnable:
    library = library or Library()
    backend = resolve_backend(vlm)

    def retrieve(inp) -> dict:
        inp = {"question": inp} if isinstance(inp, str) else dict(inp)
        question = inp["question"]
        evidence = gather(question, library, video=inp.get("video"), k=k, time=inp.get("time"),
                          kinds=tuple(inp.get("kinds") or ("transcript",)))
        return {"question": question, "evidence": evidence, "notes": [],
                "fallback": lambda: extractive_answer(question, evidence, library)}

    def prompt(state: dict) -> dict:
        if backend is None or not state["evidence"].spans:
            return state  # extractive: nothing to prompt
        items, videos, time_range = grounded.evidence_items(state["evidence"], library)
        budget = backend.context_limit - grounded.OUTPUT_TOKENS
        text_tokens = backend.count_tokens(
            grounded.SYSTEM_PROMPT + grounded.evidence_text(items) + state["question"])
        state.update(items=items, time_range=time_range, budget=budget,
                     long=text_tokens > budget)
        if not state["long"]:
            clips = grounded.frames_or_note(items, videos, budget - text_tokens, state["notes"])
            state["messages"] = grounded.build_messages(state["question"], items, clips)
        return state

    def model(state: dict) -> dict:
        if "messages" in state:
            state["raw"] = backend.generate(state["messages"], max_new_tokens=grounded.OUTPUT_TOKENS,
                                            stream=stream)
        return state

    def parse(state: dict):
        answer = _parse(state)
        answer.evidence = state["evidence"]  # chat sessions read the resolved time from here
        return answer

    def _parse(state: dict):
        if "items" not in state:
            return state["fallback"]()
        if state["long"]:  # whole video / long range: map over chunks, then reduce
            return grounded.map_reduce(state["question"], state["items"], backend, state["budget"],
                                       state["time_range"], state["fallback"])
        if stream:
            answers = grounded.AnswerStream(iter(state["raw"]), state["items"],
                                            state["time_range"], state["fallback"])
            answers.notes = state["notes"]
            return answers
        answer = grounded.final_answer(state["raw"], state["items"], state["time_range"],
                                       state["fallback"])
        answer.notes[:0] = state["notes"]
        return answer

    return (RunnableLambda(retrieve, name="retrieve") | RunnableLambda(prompt, name="prompt")
            | RunnableLambda(model, name="model") | RunnableLambda(parse, name="citations"))

"""Prompts for executing one step of a chain of thought, and for the single-agent baselines.

Why a module of its own: the planner, the executors and the benchmark baselines must phrase the same things the
same way, or accuracy differences would come from wording instead of from the protocol. With constrained
decoding the prompts only say what to do; the JSON shape of the reply is the constraint's job. The free-text
instructions remain for the unconstrained ("free") decoding that benchmarks compare against.
"""

from __future__ import annotations

from agents.answer_format import option_letters
from agents.payloads import SubtaskPayload
from tools.answers import extract_answer

# No "<final answer>" template: small models copy it verbatim (extract_answer rejects such echoes anyway).
FINAL_INSTRUCTION = "End with a last line that starts with 'Answer:' followed only by the final number, word or option letter."
STRICT_FINAL_INSTRUCTION = "Reply with one line only: the word 'Answer:' followed by the final number, word or option letter."
FORMAT_HINTS = {
    "option": "Answer with the letter of the correct option.",
    "yes_no": "Answer Yes or No.",
    "number": "Answer with the number only.",
    "text": "Answer with a few words.",
}


def format_hint(fmt: str, question: str = "") -> str:
    if fmt == "option" and option_letters(question):
        return f"Answer with one of the letters {', '.join(option_letters(question))}."
    return FORMAT_HINTS.get(fmt, FORMAT_HINTS["text"])


def step_messages(system_prompt: str, payload: SubtaskPayload, *, free: bool = False, strict: bool = False) -> list[dict[str, str]]:
    """Chat messages asking an agent to carry out `payload.step`, with the earlier steps' results as context.

    `free`: the unconstrained baseline, which must be told to end with "Answer:" (`strict`: one line only)."""
    lines = [f"Question: {payload.question}", "", "Plan:"]
    lines += [f"{i + 1}. {step}" for i, step in enumerate(payload.plan)]
    if payload.previous:
        lines += ["", "Results of the previous steps:"]
        lines += [f"Step {i + 1} ({p.step}): {p.result}" for i, p in enumerate(payload.previous)]
    lines += ["", f"Your step ({payload.step_index + 1} of {len(payload.plan)}): {payload.step}"]
    if payload.final and free:
        lines.append(STRICT_FINAL_INSTRUCTION if strict else FINAL_INSTRUCTION)
    elif payload.final:
        lines.append(format_hint(payload.answer_format, payload.question))
    else:
        lines.append("Do only this step and state its result in one sentence.")
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": "\n".join(lines)}]


def direct_messages(question: str, *, chain_of_thought: bool, fmt: str | None = None) -> list[dict[str, str]]:
    """Single-agent baselines: answer directly, or think step by step first. With `fmt`, the reply is decoded
    under that answer format's constraint and the prompt only names the format."""
    if fmt is not None:
        ask = format_hint(fmt, question)
    elif chain_of_thought:
        ask = "Think step by step, then " + FINAL_INSTRUCTION[0].lower() + FINAL_INSTRUCTION[1:]
    else:
        ask = STRICT_FINAL_INSTRUCTION
    return [{"role": "system", "content": "You are a careful assistant."}, {"role": "user", "content": f"{question}\n\n{ask}"}]


def final_answer(text: str) -> str | None:
    """The answer a free-text reply to the final-step instruction commits to, or None.

    None also when the "answer" is a piece of the instruction itself: SmolLM2-135M often copies it
    ("Answer:' followed only by the final number, …"), and such an echo must read as no answer (retry, then
    abstain), not as a vote.
    """
    answer = extract_answer(text)
    if answer is None:
        return None
    probe = " ".join(answer.strip(" '\"`").lower().split())
    instructions = (" ".join(i.lower().split()) for i in (FINAL_INSTRUCTION, STRICT_FINAL_INSTRUCTION))
    if len(probe) >= 6 and any(probe in i for i in instructions):
        return None
    return answer

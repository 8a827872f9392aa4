"""The heterogeneous network the demo and the Symphony benchmark run: what each agent is, and what it declares.

Why one definition: `symphony demo` (worker processes) and `scripts/bench_symphony.py` (worker threads) must run
the same agents, or the benchmark would measure a network nobody can start. Each agent differs for real — the
base model answering directly, the base model driving an exact calculator, letter counter or item counter, and the
Echo-trained LoRA specialists of `specialists/manifest.json` served as they were trained — and declares what it
was measured to do:
- its capability *text* names the families it declares and the held-out accuracies measured for it (Echo's for a
  specialist's training, and the last `scripts/bench_symphony.py` run's for the agent alone as served here);
- its capability *vector* is the centroid of example questions of those families (calibration seed, never used
  by a benchmark or the demo), because nearest-centroid routing of the benchmark's families is right for ~90 % of
  questions where prose descriptions route about half (agents.capability.encode_centroid);
- its model id is the adapter's sha256 (the hash PolicyRegistry recorded for that policy version), so anyone
  can check on chain which weights answered (agents.assembly.model_id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agents.profile import AgentProfile, ToolName
from agents.settings import LLMSettings
from core.errors import ConfigError
from core.paths import PROJECT_ROOT

SPECIALISTS_DIR = PROJECT_ROOT / "specialists"
BENCH_RESULTS = PROJECT_ROOT / "results" / "bench_symphony.json"
EXAMPLES_PER_FAMILY = 12
MATH_PROMPT = "You are a math agent with an exact calculator."  # the prompt Echo trained the specialists with


@dataclass(frozen=True)
class NetworkAgent:
    """One agent of the network: how it works and which task families it declares."""

    name: str
    families: tuple[str, ...]
    summary: str
    tools: tuple[ToolName, ...] = ()
    specialist: str | None = None  # a name in specialists/manifest.json: served as that LoRA adapter
    system_prompt: str = "You are a careful assistant. Solve the step you are given; be brief and exact."
    tool_examples: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    max_new_tokens: int | None = None  # the network's budget unless the agent's replies are longer (a call listing items)


NETWORK: tuple[NetworkAgent, ...] = (
    NetworkAgent("generalist", ("gsm_symbolic", "object_counting", "logical_deduction"),
                 "the base model answering directly: word problems, counting and logic questions",
                 tags=("general",)),
    NetworkAgent("logician", ("logical_deduction",),
                 "the base model told to reason about order and categories: BIG-bench logical deduction",
                 system_prompt="You are a logic agent. Reason about order, relations and categories one fact at a time.",
                 tags=("logic",)),
    # The calculator declares word problems only: on the two arithmetic families the Echo specialists were measured
    # better than it (basic_arithmetic 21/24 against 15/24), and declaring them gave it the top chain there.
    NetworkAgent("calculator", ("gsm_symbolic",),
                 "the base model driving an exact calculator with constrained, grounded calls (worked examples shown): word problems",
                 tools=("calculator",), system_prompt=MATH_PROMPT, tags=("math",)),
    NetworkAgent("arithmetic-specialist", ("basic_arithmetic",),
                 "Echo-trained LoRA specialist for arithmetic expressions, driving an exact calculator (grounded calls, no worked examples: as trained)",
                 tools=("calculator",), specialist="arithmetic-calculator", system_prompt=MATH_PROMPT, tool_examples=False,
                 tags=("math", "echo")),
    NetworkAgent("chainsum-specialist", ("chain_sum",),
                 "Echo-trained LoRA specialist for sums and differences of many terms, driving an exact calculator (grounded calls, no worked examples: as trained)",
                 tools=("calculator",), specialist="chainsum-calculator", system_prompt=MATH_PROMPT, tool_examples=False,
                 tags=("math", "echo")),
    NetworkAgent("counter", ("object_counting",),
                 "the base model marking which listed items the question asks about; an exact item counter adds their quantities (worked examples shown)",
                 tools=("item_counter",), system_prompt="You are a counting agent with an exact item counter.",
                 tags=("counting",), max_new_tokens=160),
    NetworkAgent("speller", ("letter_counting",),
                 "the base model pointing an exact letter counter at the quoted text and letter (worked example shown)",
                 tools=("letter_counter",), system_prompt="You are a text agent with an exact letter counter.",
                 tags=("text",)),
)


@lru_cache(maxsize=1)
def specialist_manifest() -> dict[str, dict]:
    """The shipped specialists by name (specialists/manifest.json)."""
    path = SPECIALISTS_DIR / "manifest.json"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: the network's specialists ship with the project (scripts/train_specialists.py)")
    return {s["name"]: s for s in json.loads(path.read_text())["specialists"]}


def capability_examples(families: tuple[str, ...], per_family: int = EXAMPLES_PER_FAMILY) -> list[str]:
    """Example questions of `families` from the calibration seed (each family its own offset, as everywhere)."""
    from agents.datasets import FAMILIES, SEEDS, family_questions

    out: list[str] = []
    for family in families:
        seed = SEEDS["calibration"] + list(FAMILIES).index(family)
        out += [q.prompt for q in family_questions(family, per_family, seed)]
    return out


@lru_cache(maxsize=1)
def measured_accuracy(path: Path = BENCH_RESULTS) -> dict[str, dict[str, tuple[int, int]]]:
    """Per agent and family, (right, asked) of the agent alone in the last Symphony benchmark run (method (c),
    the agent as served here, on held-out questions); empty when the benchmark has not been run."""
    if not path.is_file():
        return {}
    from tools.answers import normalize_answer

    data = json.loads(path.read_text())
    questions = data.get("questions", [])
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for name, run in data.get("single", {}).get("agents", {}).items():
        tally: dict[str, list[int]] = {}
        for q, answer in zip(questions, run.get("answers", [])):
            right = answer is not None and normalize_answer(answer) in q["gold"]
            counts = tally.setdefault(q["family"], [0, 0])
            counts[0] += right
            counts[1] += 1
        out[name] = {f: (k, n) for f, (k, n) in tally.items()}
    return out


def capability_text(agent: NetworkAgent) -> str:
    """The declaration: what the agent is, what Echo measured for a specialist's training, and what the Symphony
    benchmark measured for the agent as served here."""
    text = f"{agent.summary}. Declares: {', '.join(agent.families)}."
    if agent.specialist:
        spec = specialist_manifest()[agent.specialist]
        after, before = spec["heldout_after"], spec["heldout_before"]
        text += (f" Echo: {after['accuracy']:.0%} of {after['n']} held-out {spec['family']} questions after "
                 f"{spec['steps']} GRPO steps ({before['accuracy']:.0%} before; trained with a schema-only calculator).")
    measured = measured_accuracy().get(agent.name)
    if measured:
        text += " Alone, as served (scripts/bench_symphony.py): " + ", ".join(
            f"{f} {k}/{n}" for f, (k, n) in measured.items()) + "."
    return text


def network_profiles(llm: LLMSettings, state_dir: Path, *, names: tuple[str, ...] | None = None,
                     **overrides: object) -> list[AgentProfile]:
    """AgentProfiles of the network (or of the agents in `names`), sharing `llm` except for each specialist's adapter."""
    chosen = [a for a in NETWORK if names is None or a.name in names]
    if names is not None and len(chosen) != len(set(names)):
        unknown = sorted(set(names) - {a.name for a in NETWORK})
        raise ConfigError(f"unknown network agent(s) {', '.join(unknown)}; known: {', '.join(a.name for a in NETWORK)}")
    profiles = []
    for agent in chosen:
        agent_llm = llm
        if agent.max_new_tokens is not None:
            agent_llm = agent_llm.model_copy(update={"max_new_tokens": max(agent.max_new_tokens, llm.max_new_tokens)})
        if agent.specialist:
            adapter = PROJECT_ROOT / specialist_manifest()[agent.specialist]["adapter"]
            agent_llm = llm.model_copy(update={"adapter": adapter})
        profiles.append(AgentProfile(
            name=agent.name, capability=capability_text(agent), capability_examples=capability_examples(agent.families),
            system_prompt=agent.system_prompt, tags=list(agent.tags), tools=list(agent.tools),
            tool_examples=agent.tool_examples, state_dir=state_dir, llm=agent_llm, **overrides))
    return profiles


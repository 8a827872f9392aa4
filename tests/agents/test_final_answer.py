"""The final-step answer of an agent: an echo of the instruction is no answer, a real answer is."""

from __future__ import annotations


def test_an_echo_of_the_final_instruction_is_not_an_answer():
    from agents.prompts import FINAL_INSTRUCTION, final_answer

    echo = "Step done. " + FINAL_INSTRUCTION.replace("with a last line that starts with ", "")
    assert final_answer(echo) is None
    assert final_answer("Answer:' followed only by the final number, word or option letter") is None
    assert final_answer("12 + 35 = 47\nAnswer: 47") == "47"
    assert final_answer("Answer: word") == "word"  # short answers that happen to occur in the instruction still count

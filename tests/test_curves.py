"""Curves: validation and the CSV format."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wzbounds.curves import Curves, read_csv, write_csv


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tv = rng.uniform(0, 1, (4, 3))
    c = Curves([1, 2, 4], tv, kl=tv**2, mu=0.2, bayes_kl=tv / 2)
    write_csv(c, tmp_path / "c.csv")
    back = read_csv(tmp_path / "c.csv")
    assert back.mu == 0.2 and back.available() == ["tv", "kl", "bayes_kl"]
    np.testing.assert_array_equal(back.tv, tv)
    np.testing.assert_array_equal(back.windows, [1, 2, 4])


def test_memory_and_saturation_travel_with_the_curves(tmp_path):
    """The policy's annotations: written as comment lines, read back, kept by a resample."""
    c = Curves([1, 2, 4], np.full((3, 3), 0.5), samples=("a", "b", "c"), memory=[10.0, 20.5, 33.0],
               saturated=[False, True, True])
    write_csv(c, tmp_path / "c.csv")
    text = (tmp_path / "c.csv").read_text()
    assert "# memory=10.0,20.5,33.0\n" in text and "# saturated=2,4\n" in text
    back = read_csv(tmp_path / "c.csv")
    assert back.memory.tolist() == [10.0, 20.5, 33.0] and back.saturated.tolist() == [False, True, True]
    part = back.subset([2, 0, 0])
    assert part.memory.tolist() == [10.0, 20.5, 33.0] and part.saturated.tolist() == [False, True, True]
    plain = Curves([1, 2], np.full((1, 2), 0.5))
    write_csv(plain, tmp_path / "p.csv")
    assert "#" not in (tmp_path / "p.csv").read_text() and read_csv(tmp_path / "p.csv").memory is None
    with pytest.raises(ValueError, match="saturated must give True or False for each of the 2 windows"):
        Curves([1, 2], np.full((1, 2), 0.5), saturated=[1, 0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data rows"),
        ("sample,window\n0,1\n", "header must be sample,window,tv"),
        ("sample,window,tv,extra\n0,1,0.1,2\n", "header must be"),
        ("sample,window,tv\n0,1,0.1\n0,2\n", "line 3 has 2 fields"),
        ("sample,window,tv\n0,1,abc\n", "non-numeric value"),
        ("sample,window,tv\n0,1,0.1\n0,1,0.2\n", "repeats window 1"),
        ("sample,window,tv\n0,1,0.1\n0,2,0.1\n1,1,0.1\n", "sample '1' lacks windows"),
        ("sample,window,tv\n0,1,1.5\n", r"tv must be in \[0, 1\]"),
        ("sample,window,tv\n0,1,nan\n", r"tv must be in \[0, 1\]"),
        ("sample,window,tv\n0,0,0.1\n", "windows must be finite and >= 1"),
        ("sample,window,tv\n0,1.5,0.1\n", "windows must be a whole number"),
        ("sample,window,tv,kl\n0,1,0.1,0.2\n", "mu is required with kl"),
        ("# mu=x\nsample,window,tv\n0,1,0.1\n", "cannot read mu"),
        ("# mu=0.1,0.2\nsample,window,tv\n0,1,0.1\n", "the mu line must give one value"),
        ("# memory=x\nsample,window,tv\n0,1,0.1\n", "cannot read memory"),
        ("# memory=1,2\nsample,window,tv\n0,1,0.1\n", "memory line gives 2 values for 1 windows"),
        ("# memory=0\nsample,window,tv\n0,1,0.1\n", "memory must give a positive, finite value"),
        ("# saturated=8\nsample,window,tv\n0,1,0.1\n", r"saturated line names windows that are not measured: \[8.0\]"),
    ],
)
def test_bad_csv_files_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_csv(tmp_path / "none.csv")
    (tmp_path / "b.csv").write_bytes(b"sample,window,tv\n0,1,\xff\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_csv(tmp_path / "b.csv")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="0123456789.,-e\n#mu=abcinfws memoryatd", max_size=80))
def test_reader_never_crashes(tmp_path, text):
    path = tmp_path / "fuzz.csv"
    path.write_text("sample,window,tv\n" + text)
    try:
        curves = read_csv(path)
    except ValueError:
        return
    assert curves.tv.shape == (curves.n_samples, curves.windows.size)


def test_curves_validate_shapes_and_values():
    with pytest.raises(ValueError, match="strictly increasing"):
        Curves([2, 1], np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"kl must have shape \(n_samples, n_windows\) = \(1, 2\)"):
        Curves([1, 2], np.zeros((1, 2)), kl=np.zeros((2, 2)), mu=0.1)
    with pytest.raises(ValueError, match="curve 'kl' is not available"):
        Curves([1, 2], np.zeros((1, 2))).panel("kl")

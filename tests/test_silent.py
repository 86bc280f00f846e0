"""No silent wrong answers (issue 28): each class of mistake people bring from other
tools gets the documented behaviour or one located `error:` line, and no Python
warning (every test here turns warnings into errors; the CLI runs under -W error)."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.files.data.files import IMAGE_SUFFIXES

from conftest import MODELS

pytestmark = pytest.mark.filterwarnings("error")


def cli(*args, cwd=None):
    """`python -W error -m nnspec ARGS`: any warning would be a traceback."""
    return subprocess.run([sys.executable, "-W", "error", "-m", "nnspec", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def one_error(result, code=2):
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# -- CSV: every bad cell names the file, the column and the line ----------------------

NAMES = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)
BAD = {"text": "INLAND", "inf": "inf", "-inf": "-inf", "nan": "nan", "huge": "1e300",
       "empty": ""}


@st.composite
def tables(draw):
    names = draw(st.lists(NAMES, min_size=2, max_size=6, unique=True))
    rows = draw(st.integers(2, 30))
    values = [[f"{draw(st.floats(-1e3, 1e3, allow_nan=False)):.4g}" for _ in names]
              for _ in range(rows)]
    row, col = draw(st.integers(0, rows - 1)), draw(st.integers(0, len(names) - 1))
    kind = draw(st.sampled_from(sorted(BAD)))
    values[row][col] = BAD[kind]
    blank = draw(st.booleans())  # a blank line before the rows shifts every line number
    text = ",".join(names) + "\n" + ("\n" if blank else "") + \
        "\n".join(",".join(r) for r in values) + "\n"
    return text, names, row + 2 + blank, names[col], kind


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(tables())
def test_a_bad_csv_cell_is_one_line_naming_file_line_and_column(tmp_path, table):
    text, names, line, column, kind = table
    (tmp_path / "t.csv").write_text(text)
    spec = f'input {len(names) - 1}\ndense 2\ntrain {{\n  data = "t.csv"\n  loss = mse\n}}\n'
    (tmp_path / "m.nn").write_text(spec)
    model = nnspec.compile(tmp_path / "m.nn")
    if kind == "text" and column == names[-1]:  # a text label: the labels become classes
        return
    with pytest.raises(nnspec.DataError) as info:
        model.data()
    message = str(info.value)
    assert f"m.nn:4:3: {tmp_path / 't.csv'}:{line}: column {column!r} " in message
    assert "\n" not in message


def test_the_training_header_says_which_column_is_the_label(tmp_path):
    rows = "\n".join(f"{i % 7},{i % 3},{i % 2}" for i in range(60))
    (tmp_path / "t.csv").write_text("a,b,target\n" + rows + "\n")
    (tmp_path / "m.nn").write_text('input 2\ndense 2 softmax\ntrain {\n  data = "t.csv"\n'
                                   '  epochs = 1\n}\n')
    r = cli("train", tmp_path / "m.nn", "-o", tmp_path / "m.nnb", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 epoch," in r.stdout and "label column 'target' (the last; csv(FILE, " \
        "label=NAME) names another)" in r.stdout.splitlines()[0]


def test_a_target_in_dollars_says_to_scale_it(tmp_path):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{p}" for a, b, p in zip(
        rng.normal(size=200), rng.normal(size=200), rng.integers(100_000, 500_000, 200)))
    (tmp_path / "t.csv").write_text("a,b,price\n" + rows + "\n")
    spec = 'input 2\ndense 8 relu -> dense 1\ntrain {\n  data = "t.csv"\n  epochs = 3\n}\n'
    (tmp_path / "m.nn").write_text(spec)
    # by default such targets train on unit scale, and the header says so
    r = cli("train", tmp_path / "m.nn", "-o", tmp_path / "m.nnb")
    assert r.returncode == 0 and "(far from unit scale; target_scale = none" in r.stdout
    # kept as they are, they diverge, and the one line says what to write
    (tmp_path / "m.nn").write_text(spec.replace("epochs = 3", "epochs = 3\n  target_scale = none"))
    line = one_error(cli("train", tmp_path / "m.nn", "-o", tmp_path / "m.nnb"), code=1)
    assert "the loss is inf" in line and "the targets reach 4" in line and \
        "write target_scale = standard" in line


# -- images: a decompression bomb in every format is one line, no warning ----------------

@pytest.mark.parametrize("suffix", IMAGE_SUFFIXES)
def test_a_huge_image_in_any_format_is_one_line(tmp_path, suffix):
    from PIL import Image
    path = tmp_path / f"bomb{suffix}"
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(suffix, suffix[1:].upper())
    Image.new("L", (9600, 9600)).save(path, format=fmt)  # 92M pixels: over Pillow's warning
    r = cli("train", MODELS / "shapes.nn", "-o", tmp_path / "s.nnb", "--epochs", "0", "-q")
    assert r.returncode == 0, r.stderr
    line = one_error(cli("infer", tmp_path / "s.nnb", path))
    assert line == f"error: {path}: an image of 9600x9600 pixels; nnspec reads at most " \
        "67,108,864"


# -- pixels: floats that contradict the scaling, in every dtype ---------------------------

PIXELS = "input 6x6x1\nconv 3x3x2 relu -> dense 2 softmax\ntrain {\n  scale = pixels\n}"


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_pixels_of_0_to_255_are_an_error_and_scaled_floats_train(dtype):
    model = nnspec.compile(PIXELS)
    images = np.random.default_rng(0).integers(0, 256, (8, 6, 6, 1))
    with pytest.raises(nnspec.DataError, match=rf"x holds {dtype} values from \d+ to 25\d, but "
                       r"the model's scale is pixels.*give the pixels as integers"):
        model.fit(images.astype(dtype), np.arange(8) % 2, epochs=1)
    model.fit((images / 255).astype(dtype), np.arange(8) % 2, epochs=1)
    with pytest.raises(nnspec.DataError, match="x holds"):
        model.predict(images.astype(dtype))
    with pytest.raises(nnspec.DataError, match="x holds"):
        model.predict(-(images / 255).astype(dtype))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "int64"])
def test_integer_pixels_are_scaled_and_beyond_255_refused(dtype):
    model = nnspec.compile(PIXELS)
    images = np.random.default_rng(0).integers(0, 256, (8, 6, 6, 1)).astype(dtype)
    model.fit(images, np.arange(8) % 2, epochs=1)
    assert np.allclose(model.prepare(images), images / 255)
    if np.iinfo(dtype).max > 255:
        with pytest.raises(nnspec.DataError, match="x holds the integer 1000, but the model's "
                           "scale is pixels, for 8-bit values"):
            model.predict(images + 1000 - images.max())


def test_pixels_of_a_scaled_range_take_floats_in_that_range():
    model = nnspec.compile(PIXELS.replace("pixels", "pixels(-1, 1)"))
    images = np.random.default_rng(0).integers(0, 256, (4, 6, 6, 1))
    model.fit(images / 127.5 - 1, np.arange(4) % 2, epochs=1)
    with pytest.raises(nnspec.DataError, match=r"onto \[-1, 1\]"):
        model.predict(images / 255 * 3)


# -- shapes: where the spec's input is, and what to write ------------------------------

def test_a_wrong_input_width_names_the_input_line_and_what_to_write(tmp_path):
    (tmp_path / "m.nn").write_text("# a table of six columns\ninput 6\ndense 2 softmax\n")
    model = nnspec.compile(tmp_path / "m.nn")
    with pytest.raises(nnspec.DataError) as info:
        model.fit(np.zeros((10, 9)), np.zeros(10, int))
    assert str(info.value) == (f"x has shape (10, 9): samples of 9, but the spec's input "
                               f"({tmp_path / 'm.nn'}:2) takes 6: write input 9, or reshape x")


def test_images_without_a_channel_axis_fit_predict_and_infer_alike(tmp_path):
    spec = "input 8x8x1\nconv 3x3x2 relu -> dense 2 softmax\ntrain {\n  scale = pixels\n}"
    model = nnspec.compile(spec)
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8)).astype(np.uint8)
    model.fit(images, np.arange(6) % 2, epochs=1)  # (n, 8, 8) for 8x8x1
    got = model.predict(images)
    np.testing.assert_array_equal(got, model.predict(images[..., None]))
    np.save(tmp_path / "x.npy", images)
    model.save(tmp_path / "m.nnb")
    r = cli("infer", tmp_path / "m.nnb", tmp_path / "x.npy", "--format", "json")
    assert r.returncode == 0, r.stderr


def test_a_grayscale_image_written_without_channels_says_what_to_write():
    with pytest.raises(nnspec.ShapeError) as info:
        nnspec.compile("input 28x28\nconv 3x3x8 same relu -> dense 10 softmax")
    assert str(info.value) == ("<spec>:2:1: conv1: conv 3x3x8 same needs an HxWxC input (over "
                               "a TIMExFEATURES sequence write conv 3x8), got 28x28 from input; "
                               "write input 28x28x1")


@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
def test_a_2d_pool_over_a_sequence_says_to_write_k_and_k_pools_over_time(kind, tmp_path):
    """KHxKW is an image's window: over TIMExFEATURES the error names the 1-D form (as
    conv's names KxF), and K over a sequence pools K steps, as Keras' 1-D pools do."""
    (tmp_path / "m.nn").write_text(f"input 28x28\n{kind} 2x2 -> flatten -> dense 10 softmax\n")
    r = cli("compile", tmp_path / "m.nn")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[0] == (
        f"error: {tmp_path / 'm.nn'}:2:1: {kind}1: {kind} 2x2 valid needs an HxWxC input (over "
        f"a TIMExFEATURES sequence write {kind} 2), got 28x28 from input; write input 28x28x1")
    model = nnspec.compile(f"input 28x28\n{kind} 2 -> flatten -> dense 10 softmax")
    assert model.graph.shapes[f"{kind}1"] == (14, 28)


# -- the package runs as python -m nnspec -----------------------------------------------

def test_python_dash_m_nnspec_runs_the_command_line():
    r = subprocess.run([sys.executable, "-m", "nnspec", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("nnspec "), r.stderr

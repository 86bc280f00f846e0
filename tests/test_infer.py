"""`nnspec infer` and `nnspec inspect` over every input format they accept."""
import csv
import gzip
import json
import struct

import numpy as np
import pytest

import nnspec
from nnspec.files import bundle
from nnspec.files.data.files import read_idx

from conftest import MODELS, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("infer")
    model = nnspec.compile(MODELS / "shapes.nn", epochs=1)
    splits = model.data()
    model.fit(*splits.train)
    model.save(tmp / "shapes.nnb")
    return tmp, model, splits.test[0][:4]


def _idx_bytes(array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1").tobytes()


def test_idx_reader_round_trip_and_truncation(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(pixels)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), pixels)
    (tmp_path / "b.idx").write_bytes(_idx_bytes(pixels)[:-7])
    with pytest.raises(nnspec.DataError, match="truncated"):
        read_idx(tmp_path / "b.idx")
    (tmp_path / "c.idx").write_bytes(b"\x01\x02\x03")
    with pytest.raises(nnspec.DataError, match="not an IDX file"):
        read_idx(tmp_path / "c.idx")


def test_infer_reads_npz_and_idx_with_training_preprocessing(trained):
    tmp, model, x = trained
    expected = model.predict_classes(x)
    np.savez(tmp / "x.npz", x=x)
    raw = np.round(x[..., 0] * 255).astype(np.uint8)  # as raw 8-bit pixels, no channel axis
    (tmp / "x-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(raw)))
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "x.npz", tmp / "x-idx3-ubyte.gz",
                "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["input"] for row in rows] == [f"{tmp / 'x.npz'}[{i}]" for i in range(4)] + [
        f"{tmp / 'x-idx3-ubyte.gz'}[{i}]" for i in range(4)]
    assert [row["class"] for row in rows] == list(expected) * 2
    for row in rows:
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-5


def test_infer_csv_output_and_top(trained):
    tmp, model, x = trained
    np.save(tmp / "x.npy", x)
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "x.npy", "--format", "csv", "--top", "1")
    lines = r.stdout.splitlines()
    assert lines[0] == "input,class,probability" and len(lines) == 5
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "x.npy", "--format", "csv", "--top", "3")
    rows = list(csv.reader(r.stdout.splitlines()))
    assert rows[0] == ["input", "class", "probability", "class_2", "probability_2", "class_3",
                       "probability_3"]
    for row in rows[1:]:  # three classes, most likely first, as --top 3 asks
        probabilities = [float(p) for p in row[2::2]]
        assert len(set(row[1::2])) == 3 and probabilities == sorted(probabilities, reverse=True)
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "x.npy", "--top", "2")
    assert all(line.count(" 0.") + line.count(" 1.0") == 2 for line in r.stdout.splitlines())


def test_regression_models_print_values(tmp_path):
    model = nnspec.compile("input 3\ndense 1\ntrain { loss = mse }")
    model.save(tmp_path / "r.nnb")
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    r = run_cli("infer", tmp_path / "r.nnb", tmp_path / "x.npy")
    assert r.returncode == 0, r.stderr
    values = [float(line.split(": ")[1]) for line in r.stdout.splitlines()]
    np.testing.assert_allclose(values, model.predict(x)[:, 0], rtol=1e-5)


@pytest.mark.parametrize("spec,takes", [
    ("input 64\ndense 3 softmax", "vectors of 64"),
    ("input 8x8\nlstm 3 -> dense 3 softmax", "sequences (TIMExFEATURES) of 8x8"),
    ("input 8\nembedding 5x4 -> flatten -> dense 3 softmax", "vectors of 8"),
])
def test_an_image_for_a_model_without_an_image_input_is_refused(spec, takes, tmp_path):
    from PIL import Image
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "img.png")
    nnspec.compile(spec).save(tmp_path / "m.nnb")
    r = run_cli("infer", tmp_path / "m.nnb", tmp_path / "img.png")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().endswith(f"an image needs a model with an image input (HxWxC); "
                                     f"this one takes {takes}")


def test_a_sigmoid_classifier_infers_its_classes(tmp_path):
    model = nnspec.compile("input 2\ndense 1 sigmoid")
    model.classes = ("no", "yes")
    model.save(tmp_path / "b.nnb")
    x = np.array([[3.0, -1.0], [-3.0, 2.0]])
    np.save(tmp_path / "x.npy", x)
    r = run_cli("infer", tmp_path / "b.nnb", tmp_path / "x.npy", "--format", "json")
    assert r.returncode == 0, r.stderr
    p = model.predict(x)[:, 0]
    rows = json.loads(r.stdout)
    assert [row["class"] for row in rows] == ["yes" if v > 0.5 else "no" for v in p]
    np.testing.assert_allclose([row["probabilities"]["yes"] for row in rows], p, rtol=1e-6)


def test_inspect_shows_metadata_summary_and_history(trained):
    tmp, model, _ = trained
    r = run_cli("inspect", tmp / "shapes.nnb")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"format      nnspec-bundle {'.'.join(map(str, bundle.VERSION))}" in out
    assert "classes     horizontal, vertical, cross, rectangle" in out
    assert "total parameters: 59,381" in out
    history = out.split("history\n")[1].splitlines()
    assert history[0].split() == ["epoch", "loss", "accuracy", "lr"] and history[1].split()[0] == "1"


def test_infer_on_the_training_csv_reads_the_features_by_name(tmp_path):
    """A model trained from a CSV remembers its feature columns: infer on a CSV that
    still holds the label column (anywhere, in any order) reads the features by name,
    and predicts as predict does on them."""
    rng = np.random.default_rng(0)
    x = rng.random((30, 3)).astype(np.float32)
    labels = np.where(x[:, 0] > 0.5, "yes", "no")
    (tmp_path / "t.csv").write_text("a,kind,b,c\n" + "\n".join(
        f"{r[0]},{lab},{r[1]},{r[2]}" for r, lab in zip(x, labels)) + "\n")
    (tmp_path / "s.nn").write_text('input 3\ndense 2 softmax\ntrain {\n data = csv("t.csv", '
                                   'label="kind")\n epochs = 2\n}\n')
    r = run_cli("train", tmp_path / "s.nn", "-o", tmp_path / "m.nnb", "-q")
    assert r.returncode == 0, r.stderr
    model = nnspec.load(tmp_path / "m.nnb")
    assert model.features == ("a", "b", "c") and model.classes == ("no", "yes")
    (tmp_path / "shuffled.csv").write_text("c,kind,a,b\n" + "\n".join(
        f"{r[2]},{lab},{r[0]},{r[1]}" for r, lab in zip(x, labels)) + "\n")
    for name in ("t.csv", "shuffled.csv"):
        r = run_cli("infer", tmp_path / "m.nnb", tmp_path / name, "--format", "json")
        assert r.returncode == 0, r.stderr
        got = [row["class"] for row in json.loads(r.stdout)]
        assert got == list(model.predict_classes(x))
    (tmp_path / "other.csv").write_text("a,b,z\n1,2,3\n")
    r = run_cli("infer", tmp_path / "m.nnb", tmp_path / "other.csv")
    assert r.returncode == 2 and "no column 'c'; the model reads a, b, c" in r.stderr


def test_invert_reads_a_photo_of_a_dark_object_on_light_as_the_model_sees_it(trained):
    """Seed 003's shirt photo: --invert predicts from 255 - pixels; photo resized
    from 4 times the input's size (nearest neighbour up, bilinear down: exact)."""
    from PIL import Image
    tmp, model, x = trained
    pixels = np.round(x[0, ..., 0] * 255).astype(np.uint8)
    photo = np.kron(255 - pixels, np.ones((4, 4), np.uint8))  # dark shape on light
    Image.fromarray(photo).save(tmp / "photo.png")
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "photo.png", "--invert", "--format", "json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    resized = np.asarray(Image.fromarray(photo).resize((16, 16), Image.BILINEAR))
    expected = model.predict((255 - resized)[..., None])[0]
    for name, p in row["probabilities"].items():
        assert p == pytest.approx(float(expected[model.classes.index(name)]), rel=1e-5)
    plain = json.loads(run_cli("infer", tmp / "shapes.nnb", tmp / "photo.png",
                               "--format", "json").stdout)[0]
    assert plain["probabilities"] != row["probabilities"]
    np.save(tmp / "x.npy", x)
    r = run_cli("infer", tmp / "shapes.nnb", tmp / "x.npy", "--invert")
    assert r.returncode == 2 and r.stderr.strip().endswith(
        "x.npy: --invert applies to image files (.png, .jpg, .jpeg, .bmp, .gif)")

"""Training data from the user's files: .npz, CSV and a folder of class folders."""
import numpy as np
import pytest
from PIL import Image

import nnspec


def _model(tmp_path, data, body="input 4\ndense 3 softmax", split="80/20"):
    spec = tmp_path / "m.nn"
    spec.write_text(f"{body}\ntrain {{\n  data = {data}\n  split = {split}\n  epochs = 1\n}}\n")
    return nnspec.compile(spec)


def test_npz_with_its_own_test_set_and_class_names(tmp_path, rng):
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(50, 4)), y=rng.integers(0, 3, 50),
             x_test=rng.normal(size=(7, 4)), y_test=rng.integers(0, 3, 7),
             classes=np.array(["cat", "dog", "eel"]))
    model = _model(tmp_path, '"d.npz"')  # relative to the spec's folder
    splits = model.data()
    assert len(splits.train[0]) == 40 and len(splits.validation[0]) == 10
    assert len(splits.test[0]) == 7 and model.classes == ("cat", "dog", "eel")


def test_csv_labels_by_name_become_classes(tmp_path):
    rows = ["a,b,species,c,d"] + [f"{i},{i + 1},{'setosa' if i % 2 else 'virginica'},1,2"
                                  for i in range(10)]
    (tmp_path / "iris.csv").write_text("\n".join(rows))
    model = _model(tmp_path, 'csv("iris.csv", label="species")', "input 4\ndense 2 softmax")
    splits = model.data()
    assert model.classes == ("setosa", "virginica")
    x, y = splits.train
    assert x.shape == (8, 4) and set(y) <= {0, 1}
    assert all(row[1] == row[0] + 1 for row in x)  # the label column left out, order kept


def test_string_labels_in_an_npz_become_classes(tmp_path):
    rng = np.random.default_rng(0)
    names = np.array(["eel", "cat", "dog"])[rng.integers(0, 3, 40)]
    np.savez(tmp_path / "s.npz", x=rng.random((40, 4)).astype(np.float32), y=names,
             x_test=rng.random((6, 4)).astype(np.float32), y_test=np.array(["cat", "eel"] * 3))
    model = _model(tmp_path, '"s.npz"')
    splits = model.data()
    assert model.classes == ("cat", "dog", "eel")
    x, y = splits.train
    assert y.dtype.kind == "i" and set(splits.test[1]) == {0, 2}
    model.fit(x, y, epochs=1)


def test_a_csv_with_quoted_fields_and_a_byte_order_mark_trains(tmp_path):
    """Excel's 'CSV UTF-8': a byte-order mark, quoted headers, labels with commas and
    quotes in them, CRLF line ends and a blank line."""
    rows = ['"first, cm","second",label'] + [
        f'{i},"{i % 3}",' + ('"big, ""round"""' if i % 2 else "small") for i in range(12)]
    (tmp_path / "q.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows + [""]).encode())
    model = _model(tmp_path, '"q.csv"', "input 2\ndense 2 softmax")
    splits = model.data()
    assert model.classes == ('big, "round"', "small")
    assert sum(len(part[0]) for part in (splits.train, splits.validation) if part) == 12
    model.fit(*splits.train, epochs=1)


def test_image_folder_with_one_folder_per_class(tmp_path):
    for k, name in enumerate(["circle", "square"]):
        (tmp_path / "img" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((10, 12), 80 * k + i, np.uint8)).save(
                tmp_path / "img" / name / f"{i}.png")
    model = _model(tmp_path, '"img/"', "input 8x8x1\nconv 3x3x2 -> dense 2 softmax", "100/0")
    x, y = model.data().train
    assert x.shape == (6, 8, 8, 1) and x.dtype == np.float32 and x.max() <= 1.0
    assert sorted(y) == [0, 0, 0, 1, 1, 1] and model.classes == ("circle", "square")
    model.fit(x, y)
    assert model.preprocess["scale"] == pytest.approx(1 / 255)  # infer scales raw pixels alike
    (tmp_path / "none").mkdir()
    with pytest.raises(nnspec.DataError, match="one subfolder of images per class, found none"):
        _model(tmp_path, '"none/"', "input 8x8x1\nconv 3x3x2 -> dense 2 softmax").data()


@pytest.mark.parametrize("data,files,message", [
    ('"nope.npz"', {}, "nope.npz: no such file or folder"),
    ('"d.npz"', {"d.npz": dict(x=np.zeros((3, 4)))}, "expected arrays named x and y"),
    ('"d.npz"', {"d.npz": dict(x=np.zeros((3, 4)), y=np.zeros(2))}, "x has 3 samples but y has 2"),
    ('"t.csv"', {"t.csv": "a,b\n1,2,3\n"}, "t.csv:2: 3 values, the first row has 2"),
    ('"t.csv"', {"t.csv": ""}, "t.csv: needs a header row and at least one row of data"),
    ('csv("t.csv", label="z")', {"t.csv": "a,b\n1,2\n"}, "no column 'z' (columns: a, b)"),
    ('"t.csv"', {"t.csv": "a,label\nx,1\n"}, "t.csv:2: column 'a' holds 'x', which is not a "
                                              "number; a column of names is a category"),
    ('"t.csv"', {"t.csv": "a,label\n1,1\n\n2,inf\n"}, "t.csv:4: column 'label' holds 'inf', "
                                                     "which is not a finite number"),
    ('"t.csv"', {"t.csv": "a,y\n1,1\n2,1e300\n"}, "t.csv:3: column 'y' holds '1e300', which is "
                                                 "not within float32's range"),
    ('csv("t.csv", label="lable")', {"t.csv": "a,label\n1,2\n"}, "no column 'lable'; did you "
                                                                  "mean 'label'?"),
    ('images("d", size=3)', {}, "takes the path and options: none"),
    ('"d.npz"', {"d.npz": dict(x=np.array([None, 1]), y=np.zeros(2))}, "never unpickles"),
    ('"empty/"', {"empty/": None}, "needs an image input (HxWxC), the spec's is 4"),
])
def test_bad_files_are_one_line_errors_naming_the_spec_line(tmp_path, data, files, message):
    for name, content in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        elif name.endswith(".npz"):
            np.savez(tmp_path / name, **content)
        else:
            (tmp_path / name).write_text(content)
    model = _model(tmp_path, data)
    with pytest.raises(nnspec.DataError) as err:
        model.data()
    assert message in str(err.value) and "m.nn:4:3: " in str(err.value)
    assert "\n" not in str(err.value)


def test_train_data_flag_takes_a_path_from_the_current_folder(tmp_path, rng):
    from conftest import run_cli
    (tmp_path / "m.nn").write_text("input 4\ndense 3 softmax\ntrain {\n  epochs = 2\n}\n")
    work = tmp_path / "work"
    work.mkdir()
    np.savez(work / "d.npz", x=rng.normal(size=(40, 4)), y=rng.integers(0, 3, 40))
    done = run_cli("train", tmp_path / "m.nn", "--data", "d.npz", "-o", tmp_path / "m.nnb",
                   "-q", cwd=work)
    assert done.returncode == 0, done.stderr
    assert nnspec.load(tmp_path / "m.nnb").epoch == 2
    bad = run_cli("train", tmp_path / "m.nn", "--data", "missing.csv", "-o", tmp_path / "x.nnb",
                  "-q", cwd=work)
    assert bad.returncode == 2 and "missing.csv: no such file or folder" in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_validation_drawn_fresh_from_a_generator(tmp_path):
    """validation = spiral(100, classes=3): seed 003's fresh draw, not a share of the
    training data, which the split then keeps whole (and the same from the seed)."""
    spec = ("input 2\ndense 8 relu -> dense 3 softmax\ntrain {\n  data = spiral(200, classes=3)\n"
            "  validation = spiral(100, classes=3)\n  split = 80/10/10\n}\n")
    splits = nnspec.compile(spec).data()
    (x, y), (vx, vy) = splits.train, splits.validation
    assert len(x) == 540 and splits.test is not None and len(splits.test[0]) == 60
    assert len(vx) == 300 and sorted(set(vy.tolist())) == [0, 1, 2]
    off = np.abs(vx).sum(axis=1) > 0  # each arm starts at the origin, in every draw
    assert not (vx[off][:, None] == x[None]).all(axis=-1).any()  # no training point again
    again = nnspec.compile(spec).data()
    np.testing.assert_array_equal(again.validation[0], vx)
    model = nnspec.compile(spec, epochs=1)
    model.fit(x, y, validation_data=(vx, vy))
    model.save(tmp_path / "m.nnb", checkpoint=True)
    assert nnspec.load(tmp_path / "m.nnb").config.validation == model.config.validation


def test_validation_from_a_file_must_name_the_same_classes(tmp_path):
    (tmp_path / "a.csv").write_text("f,label\n1,cat\n2,dog\n3,cat\n4,dog\n")
    (tmp_path / "b.csv").write_text("f,label\n1,cat\n2,cow\n")
    (tmp_path / "m.nn").write_text('input 1\ndense 2 softmax\ntrain { data = "a.csv"\n'
                                   ' validation = "b.csv" }\n')
    with pytest.raises(nnspec.DataError, match=r"m.nn:4:2: validation: b.csv names other "
                       "classes or features than the data"):
        nnspec.compile(tmp_path / "m.nn").data()
    (tmp_path / "b.csv").write_text("f,label\n5,dog\n6,cat\n")
    splits = nnspec.compile(tmp_path / "m.nn").data()
    assert splits.validation[0][:, 0].tolist() == [5.0, 6.0]

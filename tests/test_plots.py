"""Figures: each plot draws what its data says, with titles, labels and legends,
and `nnspec plot` / `nnspec train --animate` write them as a user asks."""
import numpy as np
import pytest
from PIL import Image

import nnspec
from nnspec import plots

from conftest import MODELS, run_cli


def _argmax_model():
    """Two inputs, two classes, and the class is the larger input."""
    model = nnspec.compile("input 2\ndense 2 softmax", dtype="float64")
    model.set_weights({"dense1.W": 10 * np.eye(2), "dense1.b": np.zeros(2)})
    return model


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_history_draws_train_validation_and_the_test_line(tmp_path):
    history = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.5, 0.7, 0.9], "val_loss": [1.1, 0.6, 0.4],
               "val_accuracy": [0.4, 0.6, 0.8], "lr": [0.1] * 3, "test_loss": [0.3],
               "test_accuracy": [0.85]}
    fig = plots.history(history)
    loss, accuracy = fig.axes
    assert loss.get_ylabel() == "loss" and accuracy.get_ylabel() == "accuracy"
    assert loss.get_xlabel() == "epoch"
    lines = {line.get_label(): line for line in loss.get_lines()}
    assert list(lines) == ["train", "validation", "test (0.3)"]
    np.testing.assert_array_equal(lines["validation"].get_ydata(), [1.1, 0.6, 0.4])
    test = lines["test (0.3)"]
    assert set(test.get_ydata()) == {0.3} and min(test.get_xdata()) == 3  # after the last epoch
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == \
        ["train", "validation", "test (0.85)"]
    path = plots.save(fig, tmp_path / "h.png")
    assert Image.open(path).format == "PNG"


def test_batch_losses_draw_each_minibatch_validation_at_epoch_ends_and_the_test_line():
    """Seed 000's figure, from a real run: the callback's batch_loss is each batch's
    own loss (their sample-weighted mean is the epoch's loss)."""
    model = nnspec.compile("input 2\ndense 3 softmax\ntrain { batch_size = 5 }", dtype="float64")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 2)), rng.integers(0, 3, 20)
    losses = []
    model.fit(x, y, epochs=3, validation_data=(x[:6], y[:6]),
              callbacks=[nnspec.LambdaCallback(
                  on_batch_end=lambda b, logs: losses.append(logs["batch_loss"]))])
    assert len(losses) == 12
    np.testing.assert_allclose(np.mean(losses[4:8]), model.history["loss"][1], rtol=1e-12)
    history = {**model.history, "test_loss": [0.5]}
    fig = plots.batch_losses(losses, history, title="seed 000")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["train (each minibatch)", "validation (each epoch)", "test (0.5)"]
    np.testing.assert_array_equal(lines["train (each minibatch)"].get_ydata(), losses)
    np.testing.assert_array_equal(lines["validation (each epoch)"].get_xdata(), [4, 8, 12])
    assert min(lines["test (0.5)"].get_xdata()) == 12 and ax.get_xlabel() == "minibatch"
    with pytest.raises(nnspec.DataError, match="11 batch losses do not divide into the "
                       "history's 3 epochs"):
        plots.batch_losses(losses[:11], history)


@pytest.mark.parametrize("epochs", [2, 3, 7, 40])
def test_history_ticks_whole_epochs_and_wraps_a_long_title(epochs, tmp_path):
    history = {"loss": list(np.linspace(1, 0.1, epochs)), "accuracy": [0.5] * epochs}
    title = "a long title that names the network, its data set and its schedule " * 3
    fig = plots.history(history, title=title)
    plots.save(fig, tmp_path / "h.png")  # draws: the ticks are placed
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if 1 <= t <= epochs]
        assert ticks and all(float(t).is_integer() for t in ticks)
    lines = fig._suptitle.get_text().splitlines()
    assert len(lines) > 1 and all(len(line) <= 11 * 4.2 * 2 for line in lines)


def test_history_of_an_untrained_model_is_an_error():
    with pytest.raises(nnspec.DataError, match="not been trained"):
        plots.history({})


def test_kernels_are_hinton_squares_white_for_positive_weights():
    model = nnspec.compile("input 6x6x2\nconv 3x3x3 valid tanh -> conv 2x2x2 valid -> dense 2 softmax")
    fig = plots.kernels(model)
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ("conv1", "conv2")):
        w = model.weights[f"{name}.W"]
        grey, squares = ax.collections
        assert len(grey.get_paths()) == w.shape[2] * w.shape[3]  # one grey tile per kernel
        colors = squares.get_facecolors()[:, 0]  # white 1.0, black 0.0
        assert len(colors) == w.size
        assert int((colors == 1.0).sum()) == int((w > 0).sum())
        assert ax.get_title().startswith(f"{name}: {w.shape[3]} kernels of {w.shape[0]}x{w.shape[1]}")
    biggest = max(p.get_extents().width for p in fig.axes[0].collections[1].get_paths())
    assert biggest == pytest.approx(0.92)  # the largest weight fills most of its cell


def test_kernels_of_one_layer_and_errors():
    model = nnspec.compile("input 6x6x1\nconv 3x3x20 valid -> dense 2 softmax")
    fig = plots.kernels(model, "conv1")
    assert "in rows of 8" in fig.axes[0].get_xlabel()
    with pytest.raises(nnspec.DataError, match="'dense1' is not a conv layer"):
        plots.kernels(model, "dense1")
    with pytest.raises(nnspec.DataError, match="no conv layers"):
        plots.kernels(nnspec.compile("input 2\ndense 2 softmax"))


def test_confusion_counts_match_a_hand_count(rng):
    model = _argmax_model()
    x = rng.normal(size=(60, 2))
    y = rng.integers(0, 2, 60)
    fig = plots.confusion(model, x, y)
    pred = x.argmax(axis=1)
    want = [str(int(np.sum((y == i) & (pred == j)))) for i in range(2) for j in range(2)]
    ax = fig.axes[0]
    assert _texts(ax) == want
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert f"accuracy {np.mean(pred == y):.2%}" in ax.get_title()


def test_boundary_colours_each_side_by_its_class(rng):
    model = _argmax_model()
    x = rng.uniform(-1, 1, (40, 2))
    fig = plots.boundary(model, x, x.argmax(axis=1), resolution=50)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    palette = plots.classes._palette(2)
    light = 1 - 0.55 * (1 - palette)
    # upper left (x2 > x1): class 1; lower right: class 0; image rows run upwards
    np.testing.assert_allclose(image[-1, 0], light[1], atol=1e-6)
    np.testing.assert_allclose(image[0, -1], light[0], atol=1e-6)
    assert "accuracy 100.00%" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]


def test_boundary_needs_two_inputs_and_a_classifier():
    with pytest.raises(nnspec.DataError, match="needs a model with 2 inputs, this one takes 3"):
        plots.boundary(nnspec.compile("input 3\ndense 2 softmax"), np.zeros((4, 3)))
    with pytest.raises(nnspec.DataError, match="needs a classifier"):
        plots.boundary(nnspec.compile("input 2\ndense 1\ntrain {\nloss = mse\n}"), np.zeros((4, 2)))


def test_a_sigmoid_unit_is_a_two_class_boundary():
    model = nnspec.compile("input 2\ndense 1 sigmoid", dtype="float64")
    model.set_weights({"dense1.W": np.array([[10.0], [0.0]]), "dense1.b": np.zeros(1)})
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [-0.5, 1.0], [0.5, -1.0]])
    fig = plots.boundary(model, x, np.array([0, 1, 0, 1]))
    assert "accuracy 100.00%" in fig.axes[0].get_title()


def test_predictions_mark_right_green_and_wrong_red():
    model = nnspec.compile("input 4x4x1\nflatten -> dense 2 softmax", dtype="float64")
    w = np.zeros((16, 2))
    w[:8, 0], w[8:, 1] = 5, 5  # top half bright: class 0
    model.set_weights({"dense1.W": w, "dense1.b": np.zeros(2)})
    x = np.zeros((3, 4, 4, 1))
    x[0, :2], x[1, 2:], x[2, :2] = 1, 1, 1
    fig = plots.predictions(model, x, np.array([0, 1, 1]))
    titles = [ax.title for ax in fig.axes if ax.images]
    assert [t.get_text().split()[0] for t in titles] == ["0", "1", "0"]
    assert [t.get_color() for t in titles] == ["#2ca02c", "#2ca02c", "#d62728"]
    assert "2 of 3 right" in fig._suptitle.get_text()
    with pytest.raises(nnspec.DataError, match="needs image inputs"):
        plots.predictions(_argmax_model(), np.zeros((2, 2)))


def test_probabilities_draws_one_bar_per_class():
    model = nnspec.compile("input 4x4x1\nflatten -> dense 3 softmax")
    sample = np.random.default_rng(0).random((4, 4, 1))
    fig = plots.probabilities(model, sample, label="a")
    image_ax, bars_ax = fig.axes
    widths = [p.get_width() for p in bars_ax.patches]
    np.testing.assert_allclose(widths, model.predict(sample)[0], rtol=1e-6)
    assert image_ax.get_title() == "input (true: a)"
    assert bars_ax.get_xlabel() == "probability"


def test_regression_draws_the_model_over_the_data():
    model = nnspec.compile("input 1\ndense 1\ntrain {\nloss = mse\n}", dtype="float64")
    model.set_weights({"dense1.W": np.array([[2.0]]), "dense1.b": np.array([1.0])})
    x = np.linspace(0, 1, 20)[:, None]
    fig = plots.regression(model, x, 2 * x + 1)
    ax = fig.axes[0]
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(), 2 * curve.get_xdata() + 1)
    assert "MSE 0" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "model"]
    with pytest.raises(nnspec.DataError, match="this one is a classifier"):
        plots.regression(_argmax_model(), x, x)


@pytest.mark.parametrize("layers,kind", [("dense 8 relu -> dense 3 softmax", "boundary"),
                                         ("dense 1", "history")])
def test_animation_draws_evenly_spaced_frames(tmp_path, rng, layers, kind):
    loss = "cross_entropy" if kind == "boundary" else "mse"
    model = nnspec.compile(f"input 2\n{layers}\ntrain {{\nloss = {loss}\n}}")
    x = rng.normal(size=(30, 2)).astype(np.float32)
    y = rng.integers(0, 3, 30) if kind == "boundary" else x[:, :1]
    animation = plots.Animation(tmp_path / "a.gif", x, y, frames=5)
    model.fit(x, y, epochs=10, batch_size=10, callbacks=[animation])
    assert animation.kind == kind
    gif = Image.open(tmp_path / "a.gif")
    assert gif.format == "GIF" and gif.n_frames == 5  # epochs 2, 4, 6, 8, 10


def test_nnspec_plot_writes_each_kind_or_says_why_not(tmp_path):
    bundle = tmp_path / "s.nnb"
    spec = tmp_path / "s.nn"
    spec.write_text("input 2\ndense 16 relu -> dense 3 softmax\ntrain {\nepochs = 3\n"
                    "data = spiral(40)\nsplit = 70/15/15\n}\n")
    assert run_cli("train", spec, "-o", bundle, "--quiet", "--animate",
                   tmp_path / "s.gif").returncode == 0
    assert Image.open(tmp_path / "s.gif").n_frames == 3
    for kind in ("history", "confusion", "boundary"):
        out = tmp_path / f"{kind}.png"
        r = run_cli("plot", bundle, "--kind", kind, "-o", out)
        assert r.returncode == 0 and r.stdout.strip() == f"wrote {out}", r.stderr
        assert Image.open(out).size[0] > 300
    r = run_cli("plot", bundle, "--kind", "kernels", "-o", tmp_path / "k.png")
    assert r.returncode == 2 and r.stderr.strip() == "error: kernels: this model has no conv layers"
    r = run_cli("plot", bundle, "--kind", "probabilities", "--index", "99", "-o", tmp_path / "p.png")
    assert r.returncode == 2 and "--index 99: the split holds samples 0 to 17" in r.stderr


def test_nnspec_plot_predictions_on_shapes(tmp_path):
    model = nnspec.compile(MODELS / "shapes.nn", epochs=1)
    splits = model.data()
    model.fit(*splits.train)
    model.save(tmp_path / "shapes.nnb")
    for kind in ("predictions", "kernels", "probabilities"):
        r = run_cli("plot", tmp_path / "shapes.nnb", "--kind", kind, "-o", tmp_path / f"{kind}.png")
        assert r.returncode == 0, r.stderr
    r = run_cli("plot", tmp_path / "shapes.nnb", "--kind", "regression", "-o", tmp_path / "r.png")
    assert r.returncode == 2 and "try --kind confusion" in r.stderr


def test_matplotlib_is_imported_only_when_a_figure_is_made():
    import subprocess
    import sys
    code = ("import sys, nnspec, nnspec.plots; print('matplotlib' in sys.modules); "
            "nnspec.plots.history({'loss': [1.0]}); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_predictions_with_nothing_to_show_is_an_error():
    model = nnspec.compile("input 4x4x1\nflatten -> dense 2 softmax")
    with pytest.raises(nnspec.DataError, match="nothing to show"):
        plots.predictions(model, np.zeros((3, 4, 4, 1)), count=0)


@pytest.mark.parametrize("path", ["missing/a.gif", "a.png"])
def test_an_animation_path_is_checked_before_training(tmp_path, path):
    with pytest.raises(nnspec.DataError, match="written as a .gif into an existing folder"):
        plots.Animation(tmp_path / path)


def test_nnspec_train_animate_to_a_missing_folder_fails_before_training(tmp_path):
    r = run_cli("train", MODELS / "seed004_xor.nn", "-o", tmp_path / "x.nnb", "--animate",
                tmp_path / "no" / "x.gif")
    assert r.returncode == 2 and "written as a .gif into an existing folder" in r.stderr
    assert "epoch 1/" not in r.stdout and not (tmp_path / "x.nnb").exists()


def test_each_output_of_a_two_output_bundle_has_its_figures(tmp_path):
    """`--output NAME` picks the output a figure draws; the history draws every
    output's curves, or one output's; a figure that needs one output and gets none
    names the outputs to choose from."""
    spec = tmp_path / "two.nn"
    spec.write_text("image: input 28x28x1\nmeta: input 4 scale=standard\n"
                    "image -> flatten -> features: dense 8 relu\n"
                    "concat(features, meta) -> trunk: dense 8 relu\n"
                    "trunk -> digit: dense 10 softmax\ntrunk -> size: dense 1\n"
                    "output digit metrics=accuracy\noutput size weight=0.5 metrics=mae\n"
                    "train {\ndata = glyphs(120)\nepochs = 2\nsplit = 70/15/15\n}\n")
    bundle = tmp_path / "two.nnb"
    assert run_cli("train", spec, "-o", bundle, "--quiet").returncode == 0
    model = nnspec.load(bundle)
    test = model.data().test

    fig = plots.history(model.history)
    assert [ax.get_ylabel() for ax in fig.axes] == \
        ["loss", "digit_loss", "digit_accuracy", "size_loss", "size_mae"]
    fig = plots.history(model.history, output="size")
    assert [ax.get_ylabel() for ax in fig.axes] == ["size_loss", "size_mae"]

    fig = plots.confusion(model, *test, output="digit")
    right = np.mean(model.predict(test[0])["digit"].argmax(-1) == test[1]["digit"])
    assert f"accuracy {right:.2%}" in fig.axes[0].get_title()
    fig = plots.regression(model, *test, output="size")
    mse = np.mean((model.predict(test[0])["size"][:, 0] - test[1]["size"]) ** 2)
    assert f"MSE {mse:.3g}" in fig.axes[0].get_title()
    fig = plots.predictions(model, *test, count=4, output="digit")
    assert len([ax for ax in fig.axes if ax.images]) == 4  # the image input's pictures

    for kind, output in [("history", "digit"), ("confusion", "digit"), ("predictions", "digit"),
                         ("probabilities", "digit"), ("regression", "size")]:
        out = tmp_path / f"{kind}.png"
        r = run_cli("plot", bundle, "--kind", kind, "--output", output, "-o", out)
        assert r.returncode == 0 and r.stdout.strip() == f"wrote {out}", r.stderr
    r = run_cli("plot", bundle, "--kind", "confusion", "-o", tmp_path / "c.png")
    assert r.returncode == 2 and r.stderr.strip() == \
        "error: this model has outputs digit, size: say which one to draw with --output NAME"
    r = run_cli("plot", bundle, "--kind", "confusion", "--output", "colour", "-o", tmp_path / "c.png")
    assert r.stderr.strip() == "error: --output colour: the model's outputs are digit, size"
    r = run_cli("plot", bundle, "--kind", "confusion", "--output", "size", "-o", tmp_path / "c.png")
    assert "confusion: needs a classifier; output size gives values (loss mse)" in r.stderr
    r = run_cli("plot", bundle, "--kind", "boundary", "--output", "digit", "-o", tmp_path / "b.png")
    assert "this one takes image 28x28x1, meta 4" in r.stderr
    # before outputs had names --output was -o's long form; a file name still is one
    r = run_cli("plot", bundle, "--kind", "history", "--output", tmp_path / "h.png")
    assert r.returncode == 0 and Image.open(tmp_path / "h.png").format == "PNG"
    r = run_cli("plot", bundle, "--kind", "history")
    assert r.returncode == 2 and "-o FILE.png" in r.stderr

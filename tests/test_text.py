"""Text columns (issue 32, the tokenizer part): a CSV of reviews trained from the
spec with a vocabulary fitted on the training split, kept in the bundle, and
`nnspec infer` on raw text rows; and the same with the padding masked
(embedding mask_zero=true), where the lstm's last state is the one after a
review's last word; the estimator on a text column."""
import csv
import json

import numpy as np
import pytest

import nnspec

from conftest import run_cli, printed_accuracy, train_cli
from tables_data import houses, reviews

REVIEWS = """input 12
embedding 64x16 -> lstm 16 -> dense 2 softmax
train {
  data = csv("reviews.csv", label=sentiment, text=[review])
  optimizer = adam
  lr = 0.01
  epochs = 8
}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reviews")
    reviews(folder / "reviews.csv")
    bundle, out = train_cli(folder, "reviews", REVIEWS)
    return folder, nnspec.load(bundle), out


def test_reviews_train_to_95_percent_printed_accuracy_from_the_spec(trained):
    folder, model, out = trained
    header = out.splitlines()[0]
    assert "columns review (text, " in header and "12 ids padded with 0" in header
    assert "scale none" in header  # ids are left as they are
    assert printed_accuracy(out) >= 0.95, out  # the label is in the words: it reaches about 1.0


def test_the_vocabulary_is_the_training_splits_and_travels_in_the_bundle(trained):
    folder, model, _ = trained
    column = model.preprocess["columns"][0]
    assert column["type"] == "text" and column["length"] == 12
    assert column["vocabulary"] == 64  # the embedding's VOCAB, as no vocabulary= says
    splits = nnspec.compile(folder / "reviews.nn").data()
    seen = {w for text in splits.train[0][:, 0] for w in nnspec.engine.tables.tokens(text)}
    assert set(column["words"]) == seen  # fewer than 62 words: all kept, none from elsewhere


def test_infer_reads_raw_text_rows_as_predict_does(trained, tmp_path):
    folder, model, _ = trained
    texts = ["What a brilliant, MOVING film!", "Dull and boring; a waste.", "zzz qqq"]
    csv = tmp_path / "raw.csv"
    csv.write_text("review\n" + "".join(f'"{t}"\n' for t in texts))
    result = run_cli("infer", folder / "reviews.nnb", csv, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["class"] for r in rows[:2]] == ["positive", "negative"]
    inferred = np.array([[r["probabilities"][c] for c in model.classes] for r in rows])
    np.testing.assert_allclose(inferred, model.predict({"review": texts}), atol=1e-6)  # printed


def test_a_table_of_numbers_and_a_text_feeds_two_inputs_by_name(tmp_path):
    """The text column goes to the input named after it; the numbers and the
    category to the other one."""
    rng = np.random.default_rng(0)
    houses(tmp_path / "h.csv", n=200)
    lines = (tmp_path / "h.csv").read_text().splitlines()
    notes = rng.choice(["Lovely garden", "needs work!", "sea view, quiet"], len(lines) - 1)
    (tmp_path / "h.csv").write_text(lines[0] + ",note\n" + "".join(
        f'{line},"{n}"\n' for line, n in zip(lines[1:], notes)))
    spec = tmp_path / "h.nn"
    spec.write_text("note: input 4\nrest: input 9\nnote -> embedding 20x4 -> lstm 4 -> t: dense 4\n"
                    "concat(rest, t) -> dense 8 relu -> dense 1\n"
                    'train {\n  data = csv("h.csv", label=price, category=[ocean], text=[note])\n'
                    "  loss = mse\n  optimizer = adam\n  epochs = 2\n}\n")
    model = nnspec.compile(spec)
    splits = model.data()
    model.fit(*splits.train)
    assert [c["name"] for c in model.preprocessing["note"]["columns"]] == ["note"]
    assert model.preprocessing["note"]["kind"] == "none"
    assert model.preprocessing["rest"]["kind"] == "standard"
    result = run_cli("infer", _saved(model, tmp_path), tmp_path / "h.csv", "--format", "json")
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout)[0]["values"][0]
    table = {k: v for k, v in zip(lines[0].split(","), lines[1].split(","))}
    table["note"] = notes[0]
    assert first == pytest.approx(float(model.predict({k: [v] for k, v in table.items()})[0, 0]),
                                  rel=1e-5)  # float32, printed and read back


def _saved(model, folder):
    model.save(folder / "m.nnb")
    return folder / "m.nnb"


def test_the_estimator_takes_a_text_column_as_it_comes(tmp_path):
    """Classifier(text=...) on X of one column of raw reviews: the vocabulary fitted
    on fit's X (as many ids as the spec's input, its embedding's VOCAB in all),
    unseen words answered, clone keeping the parameter; a text beside other
    columns, or a spec whose input is not one number long, is one line."""
    sk = pytest.importorskip("nnspec.sklearn")
    from sklearn.base import clone
    rows = np.array(list(csv.reader(reviews(tmp_path / "r.csv").open())), dtype=object)[1:]
    X, y = rows[:, :1], rows[:, 1]
    spec = REVIEWS.split("train")[0].replace("dense 2", "dense {n_outputs}")
    model = sk.Classifier(spec, text=0, epochs=8, optimizer="adam", lr=0.01)
    model.fit(X[:1000], y[:1000])
    assert model.score(X[1000:], y[1000:]) >= 0.95  # as the spec's own run (about 1.0)
    column = model.model_.preprocess["columns"][0]
    assert column["type"] == "text" and column["length"] == 12 and column["vocabulary"] == 64
    assert len(model.predict(np.array([["zzz qqq never seen"]], dtype=object))) == 1
    assert clone(model).get_params()["text"] == 0
    with pytest.raises(ValueError, match="give X the text column alone"):
        sk.Classifier(spec, text=0, epochs=1).fit(np.c_[X[:10], X[:10]], y[:10])
    with pytest.raises(ValueError, match="the spec's input must be one number long"):
        sk.Classifier("input 3x4\nflatten -> dense {n_outputs} softmax", text=0,
                      epochs=1).fit(X[:10], y[:10])


@pytest.fixture(scope="module")
def masked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("masked")
    reviews(folder / "reviews.csv")
    # the issue's own network: embedding mask_zero=true -> bidirectional lstm
    spec = REVIEWS.replace("embedding 64x16", "embedding 64x16 mask_zero=true").replace(
        "lstm 16", "lstm 16 bidirectional")
    bundle, out = train_cli(folder, "masked", spec)
    return folder, nnspec.load(bundle), out


def test_reviews_with_the_padding_masked_train_to_95_percent(masked):
    folder, model, out = masked
    assert model.graph.masked is not None  # mask_zero=true came back from the bundle
    assert printed_accuracy(out) >= 0.95, out  # the label is in the words: it reaches about 1.0


def test_more_padding_changes_no_answer(masked):
    """The trained model, its texts padded to 30 ids instead of 12 (the same
    weights; the tokenizer's length is the input's): every answer as it was, as
    the padding is masked both ways (float32, other sizes of matmul: 1e-6)."""
    folder, model, _ = masked
    texts = ["What a brilliant, MOVING film!", "the plot was dull", "zzz qqq", "?!",
             "loved it but the ending was awful and the music boring really"]
    (folder / "longer.nn").write_text((folder / "masked.nn").read_text().replace(
        "input 12", "input 30"))
    longer = nnspec.compile(folder / "longer.nn")
    longer.set_weights(model.weights)
    pre = model.preprocessing["input"]
    longer.preprocessing = {"input": {**pre, "columns": [{**pre["columns"][0], "length": 30}]}}
    longer.classes = model.classes
    ids = longer.prepare({"review": texts})
    assert ids.shape == (5, 30) and not ids[:, 12:].any()  # 18 more padding ids a row
    np.testing.assert_allclose(longer.predict({"review": texts}),
                               model.predict({"review": texts}), rtol=1e-6, atol=1e-6)


def test_infer_reads_raw_text_rows_with_the_padding_masked(masked, tmp_path):
    folder, model, _ = masked
    # "?!" has no word: every step is padding, so the lstm's state stays 0
    texts = ["What a brilliant, MOVING film!", "Dull and boring; a waste.", "zzz qqq", "?!"]
    raw = tmp_path / "raw.csv"
    raw.write_text("review\n" + "".join(f'"{t}"\n' for t in texts))
    result = run_cli("infer", folder / "masked.nnb", raw, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["class"] for r in rows[:2]] == ["positive", "negative"]
    inferred = np.array([[r["probabilities"][c] for c in model.classes] for r in rows])
    np.testing.assert_allclose(inferred, model.predict({"review": texts}), atol=1e-6)  # printed


"""`nnspec lsp` end to end: a real client (pytest-lsp) starts the server as an
editor does, `python -m nnspec.cli lsp` over stdio, and opens, edits and asks
about documents. Needs the lsp extra and pytest-lsp (.ci/run installs both)."""
import asyncio
import re
import sys
import time

import pytest

pytest.importorskip("pygls", reason="the lsp extra is not installed")
pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp is not installed")
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from nnspec.lsp.index import index  # noqa: E402

from conftest import MODELS  # noqa: E402
from test_lsp_units import ERROR_SPECS, GRAPH, cli_message, error_rows, summary_rows  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVER = [sys.executable, "-m", "nnspec.cli", "lsp"]


class Published(dict):
    """The client's diagnostics by document, recording every publication in order."""

    def __init__(self):
        super().__init__()
        self.log = []  # (seconds, uri, diagnostics)

    def __setitem__(self, uri, diagnostics):
        self.log.append((time.perf_counter(), uri, diagnostics))
        super().__setitem__(uri, diagnostics)


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code")))
    lsp_client.diagnostics = Published()
    yield
    await lsp_client.shutdown_session()


async def published(client, uri, seen, timeout=10.0):
    """The first publication for uri after the first `seen` entries of the log."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for stamp, where, diagnostics in client.diagnostics.log[seen:]:
            if where == uri:
                return stamp, diagnostics
        await asyncio.sleep(0.005)
    raise AssertionError(f"no diagnostics for {uri} in {timeout} s")


def open_document(client, uri, text, version=1):
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="nnspec", version=version, text=text)))


def change(client, uri, text, version):
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def at(uri, line, character):
    return {"text_document": lsp.TextDocumentIdentifier(uri),
            "position": lsp.Position(line, character)}


BROKEN = (MODELS / "residual.nn").read_text().replace(
    "-> maxpool 2\n  -> residual(8)", "-> maxpool 2\n  -> conv 9x9x8\n  -> residual(8)", 1)


async def test_a_shape_error_is_one_diagnostic_at_its_range_within_a_second(client, tmp_path):
    uri = (MODELS / "residual.nn").as_uri()
    seen = len(client.diagnostics.log)
    start = time.perf_counter()
    open_document(client, uri, BROKEN)
    stamp, diagnostics = await published(client, uri, seen)
    assert stamp - start < 1.0, f"diagnostics took {stamp - start:.2f} s"
    (diagnostic,) = diagnostics
    line, column, message = cli_message(BROKEN, tmp_path)
    assert diagnostic.message == message
    assert diagnostic.severity == lsp.DiagnosticSeverity.Error
    assert (diagnostic.range.start.line + 1, diagnostic.range.start.character + 1) == \
        (int(line), int(column))
    written = BROKEN.splitlines()[diagnostic.range.start.line]
    assert written[diagnostic.range.start.character:diagnostic.range.end.character] == "conv"

    seen = len(client.diagnostics.log)  # fixing it clears it
    change(client, uri, (MODELS / "residual.nn").read_text(), 2)
    _, diagnostics = await published(client, uri, seen)
    assert list(diagnostics) == []


async def test_a_burst_of_edits_is_checked_once_at_its_end(client):
    uri = "file:///burst.nn"
    seen = len(client.diagnostics.log)
    open_document(client, uri, "input 4\ndense 3\n")
    await published(client, uri, seen)
    seen = len(client.diagnostics.log)
    for version, act in enumerate(["r", "re", "rel", "relu", "relu6"], 2):
        change(client, uri, f"input 4\ndense 3 {act}\n", version)
        await asyncio.sleep(0.02)
    _, diagnostics = await published(client, uri, seen)
    (diagnostic,) = diagnostics
    assert diagnostic.message.startswith("unexpected 'relu6' in dense; did you mean 'relu'?")
    await asyncio.sleep(1.0)  # and nothing after it: one check for the burst
    assert [u for _, u, _ in client.diagnostics.log[seen:]] == [uri]


@pytest.mark.parametrize("path", sorted(MODELS.rglob("*.nn")), ids=lambda p: str(p.relative_to(MODELS)))
async def test_hover_on_every_layer_shows_the_summary_s_shape_and_parameters(client, path):
    uri = path.as_uri() + "?hover"
    text = path.read_text()
    open_document(client, uri, text)
    rows = summary_rows(path)
    for layer in index(text).layers:
        found = await client.text_document_hover_async(lsp.HoverParams(
            **at(uri, layer.span.line, layer.span.start)))
        shape, params, _ = rows[layer.name]
        assert f"`{layer.name}` {layer.spec} -> **{shape}**, {params} parameters" in \
            found.contents.value, (layer.name, found.contents.value)


async def test_completion_after_a_conv_offers_paddings_activations_and_options(client):
    uri = "file:///complete.nn"
    text = "input 8x8x1\nconv 3x3x8 "
    open_document(client, uri, text)
    found = await client.text_document_completion_async(lsp.CompletionParams(
        **at(uri, 1, len("conv 3x3x8 "))))
    labels = {item.label for item in found.items}
    assert {"valid", "same", "full", "relu", "softmax", "tanh", "stride", "dilation", "lr",
            "l2", "init", "bias"} <= labels
    stride = next(item for item in found.items if item.label == "stride")
    assert stride.insert_text == "stride=" and stride.kind == lsp.CompletionItemKind.Property


@pytest.mark.parametrize("row", error_rows(), ids=lambda r: r[2][:20])
async def test_every_row_of_the_error_table_is_a_diagnostic_at_its_range(client, row):
    line, column, message = row
    text = next(spec for key, spec in ERROR_SPECS.items() if message.startswith(key))
    uri = f"file:///errors/{line}-{column}/model.nn"
    seen = len(client.diagnostics.log)
    open_document(client, uri, text)
    _, (diagnostic,) = await published(client, uri, seen)
    assert (diagnostic.range.start.line + 1, diagnostic.range.start.character + 1) == \
        (line, column)
    assert diagnostic.message.startswith(message.split("...")[0])


async def test_definition_references_symbols_rename_and_formatting(client):
    uri = "file:///graph.nn"
    open_document(client, uri, GRAPH)
    lines = GRAPH.splitlines()
    use = lines[2].index("stem")
    found = await client.text_document_definition_async(lsp.DefinitionParams(**at(uri, 2, use)))
    assert found.range.start == lsp.Position(1, 0)
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 1, 1), context=lsp.ReferenceContext(include_declaration=True)))
    assert len(refs) == 3
    outline = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    assert [s.name for s in outline] == ["input", "stem", "conv1", "conv2", "add1", "side",
                                         "concat1", "dense1"]
    edit = await client.text_document_rename_async(lsp.RenameParams(**at(uri, 1, 1),
                                                                    new_name="trunk"))
    assert len(edit.changes[uri]) == 3 and {e.new_text for e in edit.changes[uri]} == {"trunk"}
    with pytest.raises(Exception, match="default name"):
        await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(
            **at(uri, 4, lines[4].index("add1"))))
    messy = "input 4\ndense   3 relu->dense 2\n"
    open_document(client, "file:///messy.nn", messy)
    (edit,) = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier("file:///messy.nn"), lsp.FormattingOptions(2, True)))
    assert edit.new_text == "input 4\ndense 3 relu -> dense 2\n"


async def test_garbage_and_far_positions_never_take_the_server_down(client):
    uri = "file:///garbage.nn"
    open_document(client, uri, "\x00{{(( ->->-> é # \"\n]]] x9999999999999999999 {f}\r\n" * 50)
    for line, character in ((0, 0), (3, 7), (1000, 5000), (49, 2)):
        await client.text_document_hover_async(lsp.HoverParams(**at(uri, line, character)))
        await client.text_document_completion_async(lsp.CompletionParams(
            **at(uri, line, character)))
        await client.text_document_definition_async(lsp.DefinitionParams(
            **at(uri, line, character)))
    await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    # the server still answers
    ok = "file:///still.nn"
    open_document(client, ok, "input 4\ndense 3\n")
    found = await client.text_document_hover_async(lsp.HoverParams(**at(ok, 1, 1)))
    assert "**3**" in found.contents.value


async def test_the_largest_network_is_checked_in_bounded_time_without_blocking(client):
    uri = "file:///huge.nn"
    seen = len(client.diagnostics.log)
    open_document(client, uri, "input 4\n(dense 2) x99990\ndense 3 softmaxx\n")
    await asyncio.sleep(0.05)
    # meanwhile the server answers about another document
    ok = "file:///meanwhile.nn"
    open_document(client, ok, "input 4\ndense 3\n")
    found = await client.text_document_completion_async(lsp.CompletionParams(**at(ok, 1, 0)))
    answered = time.perf_counter()
    assert any(item.label == "conv" for item in found.items)
    stamp, (diagnostic,) = await published(client, uri, seen, timeout=60)
    assert re.search(r"did you mean 'softmax'", diagnostic.message)
    assert answered < stamp, "the other document waited for the large one"

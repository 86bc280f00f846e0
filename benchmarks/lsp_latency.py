"""How long `nnspec lsp` takes to answer, as an editor sees it: the server is
started over stdio as VS Code starts it, and a client opens models/residual.nn
with a shape error, edits it, hovers and completes. Prints the median and the
slowest of ROUNDS tries of each, in milliseconds, and the server's start up to
its answer to `initialize` (needs nnspec[lsp]):

    python benchmarks/lsp_latency.py

`open`: from didOpen to the diagnostic; `edit`: from didChange to the
diagnostic, less the 0.3 s the server waits for the typing to stop.
"""
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from nnspec.lsp.server import DEBOUNCE

ROUNDS = 20
SPEC = Path(__file__).resolve().parents[1] / "models" / "residual.nn"
BROKEN = SPEC.read_text().replace("-> maxpool 2\n  -> residual(8)",
                                  "-> maxpool 2\n  -> conv 9x9x8\n  -> residual(8)", 1)


async def main():
    client = LanguageClient("latency", "1")
    arrived = asyncio.Queue()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(ls, params):
        arrived.put_nowait((time.perf_counter(), params))

    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "nnspec.cli", "lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    started = time.perf_counter() - start
    client.initialized(lsp.InitializedParams())
    times = {"open": [], "edit": [], "hover": [], "completion": []}
    for i in range(ROUNDS):
        uri = f"file:///latency/{i}/residual.nn"
        start = time.perf_counter()
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
            uri=uri, language_id="nnspec", version=1, text=BROKEN)))
        stamp, params = await arrived.get()
        assert len(params.diagnostics) == 1
        times["open"].append(stamp - start)
        start = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text=SPEC.read_text())]))
        stamp, params = await arrived.get()
        assert not params.diagnostics
        times["edit"].append(stamp - start - DEBOUNCE)
        where = lsp.TextDocumentIdentifier(uri)
        start = time.perf_counter()
        await client.text_document_hover_async(lsp.HoverParams(where, lsp.Position(9, 7)))
        times["hover"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await client.text_document_completion_async(lsp.CompletionParams(
            where, lsp.Position(9, 17)))
        times["completion"].append(time.perf_counter() - start)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    print(f"{'start':>10}: {1000 * started:6.1f} ms")
    for what, seconds in times.items():
        print(f"{what:>10}: median {1000 * statistics.median(seconds):6.1f} ms, "
              f"slowest {1000 * max(seconds):6.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())

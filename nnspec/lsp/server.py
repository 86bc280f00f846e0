"""`nnspec lsp`: the language server, over stdio. pygls wiring only: each
handler turns LSP types into a call of a pure module (index, hover, completion,
navigation, symbols) and back.

Documents are indexed on worker threads, so a large spec blocks neither the
protocol nor the other documents (index.py parses one text at a time); an
index is kept per document until its text changes. Diagnostics are
published when a document opens and 0.3 s after the last of a burst of edits.
No handler lets an exception out: the server logs it to the client and answers
nothing, so a bug in one feature never takes the others down.
"""
import asyncio
import functools
import traceback
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer

from .. import __version__
from . import completion, hover, navigation, symbols
from .index import formatted, index

DEBOUNCE = 0.3  # seconds of quiet after an edit before a document is checked

_SYMBOLS = {"layer": lsp.SymbolKind.Variable, "input": lsp.SymbolKind.Constant,
            "block": lsp.SymbolKind.Function, "param": lsp.SymbolKind.TypeParameter,
            "train": lsp.SymbolKind.Namespace, "setting": lsp.SymbolKind.Property}
_ITEMS = {"kind": lsp.CompletionItemKind.Class, "block": lsp.CompletionItemKind.Function,
          "name": lsp.CompletionItemKind.Variable, "word": lsp.CompletionItemKind.EnumMember,
          "activation": lsp.CompletionItemKind.EnumMember,
          "option": lsp.CompletionItemKind.Property, "keyword": lsp.CompletionItemKind.Keyword,
          "setting": lsp.CompletionItemKind.Field, "value": lsp.CompletionItemKind.Value}


class Server(LanguageServer):
    def __init__(self):
        super().__init__("nnspec", __version__,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.indexes = {}  # uri -> Index of the text last indexed
        self.pending = {}  # uri -> the timer of a debounced check
        self.checks = set()  # checks under way: asyncio keeps only weak references to tasks
        self.worker = ThreadPoolExecutor(4, thread_name_prefix="nnspec-index")

    async def index(self, uri):
        """The document's Index, from the worker thread when its text changed."""
        text = self.workspace.get_text_document(uri).source
        known = self.indexes.get(uri)
        if known is None or known.text != text:
            known = await asyncio.get_running_loop().run_in_executor(self.worker, index, text)
            self.indexes[uri] = known
        return known

    async def publish(self, uri):
        doc = self.workspace.get_text_document(uri)
        version = doc.version
        ix = await self.index(uri)
        if doc.version != version:
            return  # edited meanwhile: the next check publishes
        severity = {"error": lsp.DiagnosticSeverity.Error,
                    "information": lsp.DiagnosticSeverity.Information}
        diagnostics = [lsp.Diagnostic(range=self.to_range(uri, p.span), message=p.message,
                                      severity=severity[p.severity], source="nnspec")
                       for p in ix.problems]
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics, version=version))

    def schedule(self, uri):
        """Check the document once it has been quiet for DEBOUNCE seconds."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(DEBOUNCE, self._checked_later, uri)

    def _checked_later(self, uri):
        self.pending.pop(uri, None)
        task = asyncio.ensure_future(guard(Server.publish)(self, uri))
        self.checks.add(task)
        task.add_done_callback(self.checks.discard)

    def to_range(self, uri, span):
        doc = self.workspace.get_text_document(uri)
        found = lsp.Range(lsp.Position(span.line, span.start), lsp.Position(span.line, span.end))
        return doc.position_codec.range_to_client_units(doc.lines, found)

    def position(self, uri, position):
        """A client position -> (line, column) in characters."""
        doc = self.workspace.get_text_document(uri)
        found = doc.position_codec.position_from_client_units(doc.lines, position)
        return found.line, found.character


def guard(handler):
    """The handler, logging any exception to the client and answering None."""
    @functools.wraps(handler)
    async def run(ls, *args):
        try:
            return await handler(ls, *args)
        except JsonRpcException:
            raise  # an answer to the client: a rename refused, with why
        except Exception:  # noqa: BLE001 - the server must outlive its bugs
            ls.window_log_message(lsp.LogMessageParams(
                type=lsp.MessageType.Error,
                message=f"nnspec lsp: {handler.__name__} failed\n{traceback.format_exc()}"))
            return None
    return run


server = Server()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@guard
async def did_open(ls, params):
    await ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@guard
async def did_change(ls, params):
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@guard
async def did_close(ls, params):
    uri = params.text_document.uri
    ls.indexes.pop(uri, None)
    timer = ls.pending.pop(uri, None)
    if timer is not None:
        timer.cancel()
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guard
async def on_hover(ls, params):
    uri = params.text_document.uri
    found = hover.hover(await ls.index(uri), *ls.position(uri, params.position))
    if found is None:
        return None
    text, span = found
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=ls.to_range(uri, span))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[" ", "(", ",", ">", "=", "["]))
@guard
async def on_completion(ls, params):
    uri = params.text_document.uri
    items = completion.complete(await ls.index(uri), *ls.position(uri, params.position))
    return lsp.CompletionList(is_incomplete=False, items=[
        lsp.CompletionItem(label=i.label, kind=_ITEMS[i.kind], detail=i.detail or None,
                           insert_text=i.insert) for i in items])


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guard
async def on_definition(ls, params):
    uri = params.text_document.uri
    ix = await ls.index(uri)
    name = navigation.name_at(ix, *ls.position(uri, params.position))
    found = navigation.definition(ix, name) if name is not None else None
    if found is None:
        return None
    return lsp.Location(uri=uri, range=ls.to_range(uri, found.span))


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@guard
async def on_references(ls, params):
    uri = params.text_document.uri
    ix = await ls.index(uri)
    name = navigation.name_at(ix, *ls.position(uri, params.position))
    if name is None:
        return None
    return [lsp.Location(uri=uri, range=ls.to_range(uri, n.span))
            for n in navigation.occurrences(ix, name)]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guard
async def on_symbols(ls, params):
    uri = params.text_document.uri

    lines = ls.workspace.get_text_document(uri).lines

    def convert(s):
        first, last = s.lines  # the whole lines it covers; its name is selected
        end = len(lines[last].rstrip("\r\n")) if last < len(lines) else 0
        whole = lsp.Range(lsp.Position(first, 0), lsp.Position(last, end))
        return lsp.DocumentSymbol(
            name=s.name, kind=_SYMBOLS[s.kind], detail=s.detail or None, range=whole,
            selection_range=ls.to_range(uri, s.span),
            children=[convert(c) for c in s.children] or None)

    return [convert(s) for s in symbols.symbols(await ls.index(uri))]


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@guard
async def on_formatting(ls, params):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    text = doc.source
    pretty = await asyncio.get_running_loop().run_in_executor(ls.worker, formatted, text)
    if pretty is None or pretty == text:
        return []  # it does not parse (the diagnostic says why), or is formatted
    end = lsp.Position(len(doc.lines), 0)
    return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=pretty)]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
@guard
async def on_prepare_rename(ls, params):
    uri = params.text_document.uri
    ix = await ls.index(uri)
    try:
        name = navigation.renamed(ix, *ls.position(uri, params.position))
    except navigation.RenameError as e:
        raise JsonRpcInvalidRequest(str(e)) from None
    return ls.to_range(uri, name.span)


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
@guard
async def on_rename(ls, params):
    uri = params.text_document.uri
    ix = await ls.index(uri)
    try:
        edits = navigation.rename(ix, *ls.position(uri, params.position), params.new_name)
    except navigation.RenameError as e:
        raise JsonRpcInvalidRequest(str(e)) from None
    return lsp.WorkspaceEdit(changes={uri: [
        lsp.TextEdit(range=ls.to_range(uri, span), new_text=new) for span, new in edits]})


def main():
    """Serve over stdin and stdout until the client says exit."""
    server.start_io()


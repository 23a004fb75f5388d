"""`avmd lsp` driven by pytest-lsp's real client (pygls over stdio) on a copy of examples/hello_web:
what the server gives while typing, before any save — the AtomVM check and syntax errors on the
unsaved text, hovers with the platform table, completion from what esp32 has, quick fixes that clear
their diagnostic — plus workspace symbols, lens commands and `avmd/buildStatus`."""

import os
import re

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_support import apply_edits, avmd_binary, line_of, scratch_example, until

BIN = avmd_binary()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[str(BIN), "lsp"], server_env=dict(os.environ)))
async def client(lsp_client: LanguageClient, tmp_path):
    root = scratch_example(tmp_path)
    lsp_client.root = root
    lsp_client.statuses = []
    lsp_client.versions = {}

    @lsp_client.feature("avmd/buildStatus")
    def build_status(params):
        lsp_client.statuses.append(params)

    await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=root.as_uri(), name="hello_web")],
            initialization_options={"devUrl": "http://127.0.0.1:18080"},
        )
    )
    yield
    await lsp_client.shutdown_session()


def state_of(status):
    return status.state if hasattr(status, "state") else status["state"]


def field(status, name):
    return getattr(status, name) if hasattr(status, name) else status[name]


async def first_build(client):
    return await until(
        lambda: next((s for s in client.statuses if state_of(s) != "building"), None),
        "the first avmd/buildStatus after building",
    )


def open_doc(client, path, text=None):
    text = path.read_text() if text is None else text
    client.versions[path] = 1
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=path.as_uri(), language_id="erlang", version=1, text=text))
    )
    return text


def change(client, path, text):
    client.versions[path] += 1
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=client.versions[path]),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def diags(client, path):
    return client.diagnostics.get(path.as_uri(), [])


def with_call(text, call):
    """The API handler with `call` typed into its GET clause."""
    old = "    {ok, #{<<\"hello\">> => httpd_handler:query(<<\"name\">>, Req, <<\"world\">>)}};"
    assert old in text
    return text.replace(old, f"    _ = {call},\n{old}")


@pytest.mark.asyncio
async def test_a_typed_unsupported_call_is_flagged_hovered_and_fixed_without_a_save(client):
    api = client.root / "src" / "hello_web_api.erl"
    saved = open_doc(client, api)
    await first_build(client)
    typed = with_call(saved, "lists:sum([1, 2, 3])")
    change(client, api, typed)
    miss = await until(
        lambda: next((d for d in diags(client, api) if "lists:sum/1 is not available on AtomVM (esp32)" in d.message), None),
        "the diagnostic of the typed call",
    )
    line = line_of(typed, "lists:sum")
    assert miss.range.start == t.Position(line, typed.split("\n")[line].index("lists:sum"))
    assert miss.source == "atomvm-compat"
    assert api.read_text() == saved, "nothing was saved"

    hover = await client.text_document_hover_async(
        t.HoverParams(t.TextDocumentIdentifier(api.as_uri()), t.Position(line, miss.range.start.character + 7))
    )
    md = hover.contents.value
    assert "**lists:sum/1** is **not available** on AtomVM (esp32)" in md
    for platform in ("esp32 (project)", "rp2", "stm32", "generic_unix"):
        assert f"| {platform} |" in md, md
    assert "Instead: `lists:foldl(fun(X, Acc) -> X + Acc end, 0, List)`" in md

    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            t.TextDocumentIdentifier(api.as_uri()), miss.range, t.CodeActionContext(diagnostics=[miss])
        )
    )
    fix = next(a for a in actions if a.title.startswith("Replace lists:sum/1"))
    fixed = apply_edits(typed, fix.edit.changes[api.as_uri()])
    assert "lists:foldl(fun(X, Acc) -> X + Acc end, 0, [1, 2, 3])" in fixed
    change(client, api, fixed)
    await until(
        lambda: not any("lists:sum" in d.message for d in diags(client, api)) and api.as_uri() in client.diagnostics,
        "the diagnostic to clear after the quick fix",
    )
    # Saved, the build agrees: no error in the file, and the bundle is made.
    n = len(client.statuses)
    api.write_text(fixed)
    client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(api.as_uri())))
    done = await until(
        lambda: next((s for s in client.statuses[n:] if state_of(s) not in ("building",)), None), "the build after save"
    )
    assert state_of(done) == "ok", done
    assert not [d for d in diags(client, api) if d.severity == t.DiagnosticSeverity.Error]


@pytest.mark.asyncio
async def test_a_syntax_error_shows_while_typing_and_clears_when_fixed(client):
    api = client.root / "src" / "hello_web_api.erl"
    saved = open_doc(client, api)
    broken = saved.replace("        error -> {error, 404, <<\"no such item\">>};", "        error -> {error, 404, <<\"no such item\">>;", 1)
    assert broken != saved
    change(client, api, broken)
    err = await until(
        lambda: next((d for d in diags(client, api) if d.source == "syntax"), None), "a syntax diagnostic while typing"
    )
    assert err.severity == t.DiagnosticSeverity.Error
    assert abs(err.range.start.line - line_of(broken, "no such item")) <= 2, err
    change(client, api, saved)
    await until(lambda: not any(d.source == "syntax" for d in diags(client, api)), "the syntax diagnostic to clear")


async def complete_after(client, path, typed):
    """The completion items right after `typed`, typed into the API handler's GET clause."""
    text = with_call(open_doc(client, path), typed)
    change(client, path, text)
    line = line_of(text, f"_ = {typed}")
    col = text.split("\n")[line].index(typed) + len(typed)
    got = await client.text_document_completion_async(
        t.CompletionParams(t.TextDocumentIdentifier(path.as_uri()), t.Position(line, col))
    )
    return got if isinstance(got, list) else got.items


@pytest.mark.asyncio
async def test_completion_after_lists_offers_only_what_esp32_has(client):
    api = client.root / "src" / "hello_web_api.erl"
    items = await complete_after(client, api, "lists:")
    labels = {i.label for i in items}
    assert {"map/2", "foldl/3", "keyfind/3"} <= labels, labels
    assert not any(l.startswith("sum/") for l in labels), "lists:sum/1 is not on esp32"
    keyfind = next(i for i in items if i.label == "keyfind/3")
    assert "on esp32" in keyfind.detail, keyfind.detail
    # the project's own modules complete to their exports
    items = await complete_after(client, api, "hello_web:")
    assert "routes/0" in {i.label for i in items}


@pytest.mark.asyncio
async def test_missing_callbacks_are_added_by_the_quick_fix(client):
    ws = client.root / "src" / "new_ws.erl"
    text = "-module(new_ws).\n-behaviour(httpd_ws_handler).\n-export([ws_init/2]).\n\nws_init(_Req, _Opts) ->\n    {ok, 0}.\n"
    ws.write_text(text)
    open_doc(client, ws, text)
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            t.TextDocumentIdentifier(ws.as_uri()),
            t.Range(t.Position(1, 2), t.Position(1, 2)),
            t.CodeActionContext(diagnostics=[]),
        )
    )
    add = next(a for a in actions if a.title.startswith("Add missing httpd_ws_handler callbacks"))
    assert add.title.endswith("ws_handle/2, ws_info/2")
    fixed = apply_edits(text, add.edit.changes[ws.as_uri()])
    ws.write_text(fixed)
    n = len(client.statuses)
    client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(ws.as_uri())))
    await until(lambda: next((s for s in client.statuses[n:] if state_of(s) != "building"), None), "the build")
    assert not [d for d in diags(client, ws) if d.severity in (t.DiagnosticSeverity.Error, t.DiagnosticSeverity.Warning)], diags(client, ws)


@pytest.mark.asyncio
async def test_socket_options_atomvm_ignores_are_flagged_as_typed(client):
    api = client.root / "src" / "hello_web_api.erl"
    text = with_call(open_doc(client, api), "gen_tcp:listen(0, [binary, {active, once}, {packet, http}])")
    change(client, api, text)
    found = await until(
        lambda: [d for d in diags(client, api) if d.severity == t.DiagnosticSeverity.Warning and d.source == "atomvm-compat"],
        "socket-option warnings",
    )
    msgs = sorted(d.message for d in found)
    assert msgs[0].startswith("{active, once} is not supported on AtomVM"), msgs
    assert msgs[1].startswith("{packet, _} is not supported on AtomVM"), msgs


@pytest.mark.asyncio
async def test_build_status_reports_each_build(client):
    ok = await first_build(client)
    assert state_of(client.statuses[0]) == "building"
    assert state_of(ok) == "ok", ok
    assert re.fullmatch(r"[0-9a-f]{64}", field(ok, "sha256"))
    assert 0 < field(ok, "size") < field(ok, "partitionSize") == 1048576
    # a compile error: the next status says so, with its message
    api = client.root / "src" / "hello_web_api.erl"
    n = len(client.statuses)
    api.write_text(api.read_text().replace("item_id(Id)", "item_idd(Id)", 1))
    client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(api.as_uri())))
    bad = await until(lambda: next((s for s in client.statuses[n:] if state_of(s) != "building"), None), "the failed build")
    assert state_of(bad) == "error" and field(bad, "errors") >= 1, bad
    assert "item_idd/1" in field(bad, "lastError")


@pytest.mark.asyncio
async def test_workspace_symbols_lenses_and_their_commands(client):
    await first_build(client)
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="apihello"))
    names = {s.name for s in found}
    assert "GET /api/hello" in names, names
    handlers = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="hello_web_api"))
    module = next(s for s in handlers if s.kind == t.SymbolKind.Module)
    assert module.location.uri.endswith("/src/hello_web_api.erl")

    start = client.root / "src" / "hello_web.erl"
    open_doc(client, start)
    lenses = await client.text_document_code_lens_async(t.CodeLensParams(t.TextDocumentIdentifier(start.as_uri())))
    browser = [l for l in lenses if l.command.command == "avmd.openInBrowser"]
    assert any(list(l.command.arguments) == ["http://127.0.0.1:18080/api/hello"] for l in browser), browser
    opener = next(l for l in lenses if l.command.command == "avmd.openHandler" and l.command.arguments[0] == "hello_web_api")
    await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command=opener.command.command, arguments=opener.command.arguments)
    )
    await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command=browser[0].command.command, arguments=browser[0].command.arguments)
    )
    shown = await until(lambda: len(client.shown_documents) >= 2 and client.shown_documents, "two showDocument requests")
    assert shown[0].uri.endswith("/src/hello_web_api.erl") and shown[0].selection.start.line == 3
    assert shown[1].external is True and shown[1].uri.startswith("http://127.0.0.1:18080/")

    # a handler module's lens shows its route in the route table
    api = client.root / "src" / "hello_web_api.erl"
    lenses = await client.text_document_code_lens_async(t.CodeLensParams(t.TextDocumentIdentifier(api.as_uri())))
    route = next(l for l in lenses if l.command.title == "route: GET /api/hello")
    assert route.command.command == "avmd.showRoute"
    await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command=route.command.command, arguments=route.command.arguments)
    )
    shown = await until(lambda: len(client.shown_documents) >= 3 and client.shown_documents, "the route shown")
    assert shown[2].uri == start.as_uri()
    assert shown[2].selection.start.line == line_of(start.read_text(), '<<"/api/hello">>')

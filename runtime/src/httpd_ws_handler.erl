%% @doc Pure: the WebSocket handler behaviour, and the HTTP handler that upgrades a route to it.
%%
%% Mount a WebSocket module on a route with
%% `{<<"/ws/echo">>, httpd_ws_handler, #{handler => echo_ws}}'; the route's options map is handed to the
%% module's `ws_init/2' as is, so module settings can live next to `handler'.
%%
%% The callbacks run in the connection's process (see httpd_ws_conn), one at a time:
%% <ul>
%% <li>`ws_init(Req, Opts)' before the 101 is sent. `{ok, State}'; `{ok, State, #{protocol => P}}' picks
%%     one of the subprotocols the client offered (`protocols(Req)'), sent back in
%%     `Sec-WebSocket-Protocol'; `{reply, Frames, State}' sends frames right after the 101;
%%     `{error, Status, Reason}' refuses the upgrade with an HTTP error.</li>
%% <li>`ws_handle({text, Bin} | {binary, Bin}, State)' for each complete message (reassembled from its
%%     fragments, UTF-8 already checked for text).</li>
%% <li>`ws_info(Msg, State)' for any Erlang message sent to the connection process (a sensor or a
%%     counter process pushing to the browser: `Pid ! Msg' where `Pid' is `self()' in `ws_init').</li>
%% <li>`ws_terminate(Reason, State)' (optional) once the connection is over.</li>
%% </ul>
%% Frames a handler may send: `{text, iodata()}', `{binary, iodata()}', `ping', `{ping, Bin}', `close',
%% `{close, Code, Reason}'. Sending a close frame (or returning `{stop, State}', which sends 1000) starts
%% the closing handshake. Pings, pongs and close frames from the client never reach the handler.
%%
%% A module written for atomvm_lib's behaviour (`handle_ws_init/3', `handle_ws_message/2', mounted as
%% `#{module => Mod, args => Args}') is run by `httpd_legacy_ws'; `send/2' pushes to it from any process.
-module(httpd_ws_handler).
-behaviour(httpd_handler).

-export([handle/2, protocols/1, send/2]).

-type frame() :: {text, iodata()} | {binary, iodata()} | ping | {ping, binary()} | close
               | {close, 1000..4999, iodata()}.
-type frames() :: frame() | [frame()].
-type result(State) :: {ok, State} | {reply, frames(), State} | {stop, State}.
-type reason() :: normal | {remote, none | 1000..4999} | {error, 1002 | 1007 | 1009, binary()} | closed
                | timeout | {crash, term()}.
-export_type([frame/0, frames/0, reason/0, result/1]).

-callback ws_init(Req :: map(), Opts :: term()) ->
    {ok, State :: term()}
    | {ok, State :: term(), #{protocol => binary()}}
    | {reply, frames(), State :: term()}
    | {error, Status :: 400..599, Reason :: binary()}.
-callback ws_handle({text, binary()} | {binary, binary()}, State :: term()) -> result(term()).
-callback ws_info(Msg :: term(), State :: term()) -> result(term()).
-callback ws_terminate(reason(), State :: term()) -> any().
%% atomvm_lib's contract (httpd_legacy_ws): a module exports one set or the other, so all are optional
%% here and `avmd build' checks the routed modules (engine/src/contract.rs).
-callback handle_ws_init(WebSocket :: pid(), PathSuffix :: [binary()], Args :: term()) -> {ok, State :: term()} | term().
-callback handle_ws_message(Payload :: binary(), State :: term()) ->
    {reply, iodata(), term()} | {noreply, term()} | {close, iodata(), term()} | {close, term()} | term().
-optional_callbacks([ws_init/2, ws_handle/2, ws_info/2, ws_terminate/2, handle_ws_init/3, handle_ws_message/2]).

%% @doc The httpd_handler callback: hands the connection to the module named by `handler'.
-spec handle(map(), #{handler := module(), _ => _}) -> {upgrade, websocket, module(), map()}.
handle(Req, #{module := Mod} = Opts) when is_atom(Mod) ->
    handle(Req, maps:remove(module, Opts#{handler => Mod}));
handle(_Req, #{handler := Mod} = Opts) when is_atom(Mod) ->
    _ = code:ensure_loaded(Mod),
    case erlang:function_exported(Mod, handle_ws_init, 3) of
        true -> {upgrade, websocket, httpd_legacy_ws, Opts#{module => Mod}};
        false -> {upgrade, websocket, Mod, Opts}
    end.

%% @doc atomvm_lib's push: sends `Data' as a text frame on the WebSocket `WebSocket' (the pid its
%% `handle_ws_init/3' got) from any other process. `{error, closed}' once the connection is gone.
-spec send(pid(), iodata()) -> ok | {error, closed | timeout}.
send(WebSocket, _Data) when WebSocket =:= self() ->
    %% as in atomvm_lib: a callback answers with `{reply, ...}' instead
    erlang:error(badarg);
send(WebSocket, Data) when is_pid(WebSocket) ->
    Ref = erlang:monitor(process, WebSocket),
    WebSocket ! {'$httpd_ws_send', self(), Ref, Data},
    receive
        {Ref, ok} ->
            erlang:demonitor(Ref, [flush]),
            ok;
        {'DOWN', Ref, process, _, _} ->
            {error, closed}
    after 5000 ->
        erlang:demonitor(Ref, [flush]),
        {error, timeout}
    end.

%% @doc The subprotocols the client offered in `Sec-WebSocket-Protocol', in its order of preference.
-spec protocols(map()) -> [binary()].
protocols(Req) ->
    maps:get(ws_protocols, Req, []).

%% @doc Process-side WebSocket module (runs in the connection process, see httpd_ws_conn): runs a module
%% written for atomvm_lib's `httpd_ws_handler' behaviour (`handle_ws_init/3', `handle_ws_message/2')
%% on our WebSocket code. `httpd_ws_handler:handle/2' upgrades to it when the route's module exports
%% `handle_ws_init/3'.
%%
%% The WebSocket handle atomvm_lib's callbacks get is the connection's pid; `httpd_ws_handler:send/2'
%% from another process arrives here as a message and goes out as a text frame. Both text and binary
%% messages reach `handle_ws_message/2' as binaries, as in atomvm_lib; replies go out as text.
-module(httpd_legacy_ws).
-behaviour(httpd_ws_handler).

-export([ws_init/2, ws_handle/2, ws_info/2, ws_terminate/2, result/2]).

%% @doc httpd_ws_handler callback.
ws_init(Req, Opts = #{module := Mod}) ->
    case Mod:handle_ws_init(self(), maps:get(path_info, Req, []), maps:get(args, Opts, undefined)) of
        {ok, State} ->
            {ok, {Mod, State}};
        Other ->
            io:format("httpd: ~p:handle_ws_init/3 answered ~p~n", [Mod, Other]),
            {error, 500, <<"the WebSocket handler refused the connection">>}
    end.

%% @doc httpd_ws_handler callback.
ws_handle({_Kind, Payload}, {Mod, State}) ->
    result(Mod, Mod:handle_ws_message(Payload, State)).

%% @doc httpd_ws_handler callback: `httpd_ws_handler:send/2' from another process.
ws_info({'$httpd_ws_send', From, Ref, Data}, St) ->
    From ! {Ref, ok},
    {reply, {text, Data}, St};
ws_info(_Msg, St) ->
    %% atomvm_lib's handler process ignores other messages too
    {ok, St}.

%% @doc httpd_ws_handler callback.
ws_terminate(_Reason, _St) ->
    ok.

%% @doc Pure. atomvm_lib's `handle_ws_message/2' answers → ours; anything else closes with 1011.
-spec result(module(), term()) -> httpd_ws_handler:result({module(), term()}).
result(Mod, {reply, Reply, State}) -> {reply, {text, Reply}, {Mod, State}};
result(Mod, {noreply, State}) -> {ok, {Mod, State}};
result(Mod, {close, Reply, State}) -> {reply, [{text, Reply}, {close, 1000, <<>>}], {Mod, State}};
result(Mod, {close, State}) -> {stop, {Mod, State}};
result(Mod, Other) ->
    io:format("httpd: ~p:handle_ws_message/2 answered ~p~n", [Mod, Other]),
    {reply, {close, 1011, <<"handler error">>}, {Mod, undefined}}.

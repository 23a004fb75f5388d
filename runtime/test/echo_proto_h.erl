%% @doc Test fixture: a non-HTTP gen_tcp_server protocol (like Ranch's echo_protocol) — echoes every
%% line back; `reject/2' writes `busy'.
-module(echo_proto_h).
-behaviour(gen_tcp_server).
-export([init/2, reject/2]).

-spec init(term(), term()) -> ok.
init(Sock, Prefix) ->
    case gen_tcp:recv(Sock, 0, 5000) of
        {ok, Data} -> ok = gen_tcp:send(Sock, [Prefix, Data]), init(Sock, Prefix);
        {error, _} -> gen_tcp:close(Sock), ok
    end.

-spec reject(term(), term()) -> ok.
reject(Sock, _Prefix) ->
    _ = gen_tcp:send(Sock, <<"busy">>),
    ok.

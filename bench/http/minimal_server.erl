%% @doc Process. The smallest sensible HTTP/1.1 keep-alive server on gen_tcp, the baseline for
%% bench/http: one process per connection, a fixed 13-byte reply to every request head, pipelining
%% handled. No parsing beyond finding the end of each head; host OTP only.
-module(minimal_server).

-export([start/1]).

-define(REPLY, <<"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!">>).

%% @doc Listens on 127.0.0.1:Port (0 = any free port) and returns the bound port.
-spec start(inet:port_number()) -> {ok, inet:port_number()}.
start(Port) ->
    Opts = [binary, {active, false}, {reuseaddr, true}, {ip, {127, 0, 0, 1}}, {nodelay, true}, {backlog, 1024}],
    {ok, L} = gen_tcp:listen(Port, Opts),
    {ok, Bound} = inet:port(L),
    Acceptor = spawn(fun() -> accept(L) end),
    ok = gen_tcp:controlling_process(L, Acceptor),
    {ok, Bound}.

accept(L) ->
    {ok, S} = gen_tcp:accept(L),
    Pid = spawn(fun() -> receive go -> loop(S, <<>>) end end),
    ok = gen_tcp:controlling_process(S, Pid),
    Pid ! go,
    accept(L).

loop(S, Buf) ->
    case gen_tcp:recv(S, 0) of
        {ok, Data} -> answer(S, <<Buf/binary, Data/binary>>);
        {error, _} -> gen_tcp:close(S)
    end.

answer(S, Buf) ->
    case binary:split(Buf, <<"\r\n\r\n">>) of
        [_Head, Rest] ->
            ok = gen_tcp:send(S, ?REPLY),
            answer(S, Rest);
        [_] ->
            loop(S, Buf)
    end.

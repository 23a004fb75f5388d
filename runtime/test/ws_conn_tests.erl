%% @doc EUnit for httpd_ws_conn (process) over real sockets on 127.0.0.1. Most groups use a stand-in for
%% httpd_conn (a minimal acceptor that parses the head with httpd_parse and calls `httpd_ws_conn:upgrade/3'
%% exactly as the connection process does), so the WebSocket side is tested on its own; `server_test_'
%% runs the same handler behind the real httpd_server (keep-alive before the upgrade, the
%% max_ws_connections cap). The client is built from httpd_ws_frame's masked encoder.
%% This module is also the WebSocket handler (and a plain HTTP handler) under test.
-module(ws_conn_tests).
-include_lib("eunit/include/eunit.hrl").
-include("httpd_head.hrl").

-export([ws_init/2, ws_handle/2, ws_info/2, ws_terminate/2, handle/2]).

-define(KEY, <<"dGhlIHNhbXBsZSBub25jZQ==">>).
-define(ACCEPT, <<"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=">>).
-define(T, 5000).

%% ---------------------------------------------------------------------------------------------------------
%% The handler under test. It tells the test process (registered as ?MODULE by the running test: EUnit
%% runs setup and tests in different processes) about init and terminate.

tell(Msg) ->
    case whereis(?MODULE) of
        undefined -> ok;
        Pid -> Pid ! Msg
    end.

sink() ->
    catch unregister(?MODULE),
    register(?MODULE, self()).

ws_init(Req, #{test := Test} = Opts) ->
    tell({ws_init, self()}),
    case maps:get(mode, Opts, echo) of
        proto ->
            {ok, #{test => Test}, #{protocol => lists:last(httpd_ws_handler:protocols(Req))}};
        bad_proto ->
            {ok, #{test => Test}, #{protocol => <<"never-offered">>}};
        greet ->
            {reply, [{text, <<"hello">>}, ping], #{test => Test}};
        bad_greet ->
            {reply, {ping, binary:copy(<<"x">>, 126)}, #{test => Test}};
        refuse ->
            {error, 403, <<"not you">>};
        crash_init ->
            error(boom);
        echo ->
            {ok, #{test => Test}}
    end.

ws_handle({text, <<"crash">>}, _S) -> error(handler_boom);
ws_handle({text, <<"stop">>}, S) -> {stop, S};
ws_handle({text, <<"close4000">>}, S) -> {reply, [{text, <<"bye">>}, {close, 4000, <<"done">>}, {text, <<"never">>}], S};
ws_handle({text, <<"bad frame">>}, S) -> {reply, {ping, binary:copy(<<"x">>, 200)}, S};
ws_handle(Msg, S) -> {reply, Msg, S}.

ws_info({push, Text}, S) -> {reply, {text, Text}, S};
ws_info(_, S) -> {ok, S}.

ws_terminate(Reason, _S) -> tell({ws_terminate, self(), Reason}).

%% A plain HTTP route next to the WebSocket ones.
handle(_Req, _Opts) -> {reply, 200, [{<<"content-type">>, <<"text/plain">>}], <<"plain">>}.

%% ---------------------------------------------------------------------------------------------------------
%% The stand-in for httpd_conn

start(Cfg, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}, {reuseaddr, true}]),
    {ok, Port} = inet:port(L),
    Acceptor = spawn(fun() -> accept(L, Cfg, Opts#{test => ?MODULE}) end),
    ok = gen_tcp:controlling_process(L, Acceptor),
    {Port, Acceptor}.

accept(L, Cfg, Opts) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> conn(S, Cfg, Opts) end end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go,
            accept(L, Cfg, Opts);
        {error, _} ->
            ok
    end.

conn(S, Cfg, Opts) ->
    head(S, httpd_parse:new(#{}), <<>>, Cfg, Opts).

head(S, P, Data, Cfg, Opts) ->
    case httpd_parse:request(Data, P) of
        {more, P1} ->
            {ok, More} = gen_tcp:recv(S, 0, ?T),
            head(S, P1, More, Cfg, Opts);
        {request, Head, Rest} ->
            Req = Head#{bindings => #{}, path_info => [], peer => undefined,
                        '$conn' => #conn{socket = S, buf = Rest, cfg = Cfg, server = undefined}},
            Result = httpd_ws_conn:upgrade(Req, ?MODULE, Opts),
            tell({upgrade_returned, Result})
    end.

stop({_Port, Acceptor}) -> exit(Acceptor, kill).

cfg() -> #{max_ws_message => 70000, ws_idle_timeout => 60000, max_ws_connections => 4}.

%% ---------------------------------------------------------------------------------------------------------
%% The client

handshake_req(Extra) ->
    [<<"GET /ws HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
       "sec-websocket-key: ">>, ?KEY, <<"\r\nsec-websocket-version: 13\r\n">>, Extra, <<"\r\n">>].

%% Connects and upgrades; returns the socket with the 101's headers checked.
open(Port) -> open(Port, [], <<>>).

open(Port, Extra, After) ->
    sink(),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(C, [handshake_req(Extra), After]),
    {101, Headers} = response(C),
    ?assertEqual(?ACCEPT, proplists:get_value(<<"sec-websocket-accept">>, Headers)),
    ?assertEqual(<<"websocket">>, proplists:get_value(<<"upgrade">>, Headers)),
    receive {ws_init, Pid} -> put(last_init, Pid) after ?T -> error(no_init) end,
    {C, Headers}.

%% Reads a response head; leftover bytes stay in the process dictionary for recv_frame.
response(C) -> response(C, <<>>).
response(C, Buf) ->
    case binary:split(Buf, <<"\r\n\r\n">>) of
        [Head, Rest] ->
            put({buf, C}, Rest),
            [<<"HTTP/1.1 ", Code:3/binary, _/binary>> | Lines] = binary:split(Head, <<"\r\n">>, [global]),
            Hs = [begin [N, V] = binary:split(L, <<": ">>), {string:lowercase(N), V} end || L <- Lines],
            {binary_to_integer(Code), Hs};
        _ ->
            {ok, More} = gen_tcp:recv(C, 0, ?T),
            response(C, <<Buf/binary, More/binary>>)
    end.

body(C) ->
    Buf = get({buf, C}),
    case gen_tcp:recv(C, 0, ?T) of
        {ok, More} -> put({buf, C}, <<Buf/binary, More/binary>>), body(C);
        {error, closed} -> Buf
    end.

send(C, Fin, Op, Payload) ->
    ok = gen_tcp:send(C, httpd_ws_frame:encode(Fin, 0, Op, <<1, 2, 3, 4>>, Payload)).
send(C, Op, Payload) -> send(C, true, Op, Payload).

%% A server frame: {Fin, Opcode, Payload} | closed. Server frames must never be masked (RFC 6455 5.1).
recv_frame(C) ->
    Buf = case get({buf, C}) of undefined -> <<>>; B -> B end,
    case Buf of
        <<Fin:1, 0:3, Op:4, 0:1, Len7:7, Rest/binary>> ->
            {Len, Rest1} = case Len7 of
                126 when byte_size(Rest) >= 2 -> <<L:16, R/binary>> = Rest, {L, R};
                127 when byte_size(Rest) >= 8 -> <<L:64, R/binary>> = Rest, {L, R};
                N when N < 126 -> {N, Rest};
                _ -> {more, Rest}
            end,
            case is_integer(Len) andalso byte_size(Rest1) >= Len of
                true ->
                    <<P:Len/binary, Rest2/binary>> = Rest1,
                    put({buf, C}, Rest2),
                    {Fin, Op, P};
                false ->
                    more(C, Buf)
            end;
        _ ->
            more(C, Buf)
    end.

more(C, Buf) ->
    case gen_tcp:recv(C, 0, ?T) of
        {ok, More} -> put({buf, C}, <<Buf/binary, More/binary>>), recv_frame(C);
        {error, closed} when Buf =:= <<>> -> closed;
        {error, Why} -> error({recv, Why, Buf})
    end.

%% After a close frame, the server closes TCP.
expect_tcp_close(C) ->
    ?assertEqual({error, closed}, gen_tcp:recv(C, 0, ?T)).

%% How the connection opened last ended (messages from earlier connections are skipped).
expect_terminate() ->
    Pid = last_init(),
    receive {ws_terminate, Pid, R} -> R after ?T -> error(no_terminate) end.

%% ---------------------------------------------------------------------------------------------------------

with_server(Cfg, Opts, Fun) ->
    {setup, fun() -> start(Cfg, Opts) end, fun stop/1, fun({Port, _}) -> Fun(Port) end}.

%% The issue's case: a 65,536-byte message against an 8,192-byte limit. The refused frame's header comes
%% first (1009 is decided on the declared length); its tail and the client's close frame follow in one
%% write, so the close frame lands inside a chunk with payload bytes before it. The server must find it
%% there and close at once, not after its 3 s close timeout.
too_big_close_in_a_mixed_chunk_test_() ->
    with_server(maps:put(max_ws_message, 8192, cfg()), #{}, fun(Port) -> [
        {"1009, then the refused payload's tail and the close frame in one write", fun() ->
            [begin
                 {C, _} = open(Port),
                 Frame = iolist_to_binary(httpd_ws_frame:encode(true, 0, 2, <<1, 2, 3, 4>>,
                                                                binary:copy(<<"a">>, 65536))),
                 <<Head:HeadSize/binary, Tail/binary>> = Frame,
                 ok = gen_tcp:send(C, Head),
                 ?assertMatch({1, 8, <<1009:16, _/binary>>}, recv_frame(C)),
                 Close = httpd_ws_frame:encode(true, 0, 8, <<5, 6, 7, 8>>, <<1009:16>>),
                 ok = gen_tcp:send(C, [Tail, Close]),
                 ?assertEqual({error, closed}, gen_tcp:recv(C, 0, 1500)),
                 ?assertMatch({error, 1009, _}, expect_terminate())
             end || HeadSize <- [14, 100, 5000]]
        end}
    ] end).

conn_test_() ->
    with_server(cfg(), #{}, fun(Port) -> [
        {"echo text and binary at the length boundaries", fun() ->
            {C, _} = open(Port),
            [begin
                 P = binary:copy(<<"a">>, N),
                 send(C, 1, P),
                 ?assertEqual({1, 1, P}, recv_frame(C)),
                 send(C, 2, P),
                 ?assertEqual({1, 2, P}, recv_frame(C))
             end || N <- [0, 1, 125, 126, 127, 65535, 65536, 70000]],
            send(C, 8, <<1000:16>>),
            ?assertEqual({1, 8, <<1000:16>>}, recv_frame(C)),
            expect_tcp_close(C),
            ?assertEqual({remote, 1000}, expect_terminate())
        end},
        {"too big → 1009", fun() ->
            {C, _} = open(Port),
            send(C, 2, binary:copy(<<"a">>, 70001)),
            ?assertMatch({1, 8, <<1009:16, _/binary>>}, recv_frame(C)),
            %% the server may already have closed: it reads and drops at most 64 KB of the refused frame
            _ = gen_tcp:send(C, httpd_ws_frame:encode(true, 0, 8, <<1, 2, 3, 4>>, <<1009:16>>)),
            expect_tcp_close(C),
            ?assertMatch({error, 1009, _}, expect_terminate())
        end},
        {"ping gets a pong with the same payload; fragments with a ping between", fun() ->
            {C, _} = open(Port),
            send(C, 9, <<"are you there">>),
            ?assertEqual({1, 10, <<"are you there">>}, recv_frame(C)),
            send(C, false, 1, <<"frag">>),
            send(C, 9, <<>>),
            send(C, true, 0, <<"ment">>),
            ?assertEqual({1, 10, <<>>}, recv_frame(C)),
            ?assertEqual({1, 1, <<"fragment">>}, recv_frame(C)),
            send(C, 8, <<>>),
            ?assertEqual({1, 8, <<>>}, recv_frame(C)),
            expect_tcp_close(C),
            ?assertEqual({remote, none}, expect_terminate())
        end},
        {"a frame sent with the handshake (buffered bytes) is handled", fun() ->
            {C, _} = open(Port, [], httpd_ws_frame:encode(true, 0, 1, <<9, 9, 9, 9>>, <<"early">>)),
            ?assertEqual({1, 1, <<"early">>}, recv_frame(C)),
            gen_tcp:close(C),
            ?assertEqual(closed, expect_terminate())
        end},
        {"messages from other processes reach ws_info and the client", fun() ->
            {C, _} = open(Port),
            Pid = last_init(),
            Pid ! {push, <<"pushed">>},
            Pid ! ignored,
            ?assertEqual({1, 1, <<"pushed">>}, recv_frame(C)),
            send(C, 1, <<"still echoing">>),
            ?assertEqual({1, 1, <<"still echoing">>}, recv_frame(C)),
            gen_tcp:close(C),
            expect_terminate()
        end},
        {"unmasked client frame → 1002 and TCP close", fun() ->
            {C, _} = open(Port),
            ok = gen_tcp:send(C, httpd_ws_frame:encode(true, 0, 1, none, <<"plain">>)),
            ?assertMatch({1, 8, <<1002:16, _/binary>>}, recv_frame(C)),
            send(C, 8, <<1002:16>>),
            expect_tcp_close(C),
            ?assertMatch({error, 1002, _}, expect_terminate())
        end},
        {"invalid close code → 1002", fun() ->
            {C, _} = open(Port),
            send(C, 8, <<1005:16>>),
            ?assertMatch({1, 8, <<1002:16, _/binary>>}, recv_frame(C)),
            expect_tcp_close(C),
            expect_terminate()
        end},
        {"handler stop → close 1000, the client answers, TCP closes", fun() ->
            {C, _} = open(Port),
            send(C, 1, <<"stop">>),
            ?assertEqual({1, 8, <<1000:16>>}, recv_frame(C)),
            send(C, 8, <<1000:16>>),
            expect_tcp_close(C),
            ?assertEqual(normal, expect_terminate())
        end},
        {"handler close frame: nothing after it is sent", fun() ->
            {C, _} = open(Port),
            send(C, 1, <<"close4000">>),
            ?assertEqual({1, 1, <<"bye">>}, recv_frame(C)),
            ?assertEqual({1, 8, <<4000:16, "done">>}, recv_frame(C)),
            %% data frames after our close are dropped; the client's close ends it
            send(C, 1, <<"late">>),
            send(C, 8, <<4000:16>>),
            expect_tcp_close(C),
            expect_terminate()
        end},
        {"handler crash → 1011, the listener lives on", fun() ->
            {C, _} = open(Port),
            send(C, 1, <<"crash">>),
            ?assertMatch({1, 8, <<1011:16, _/binary>>}, recv_frame(C)),
            send(C, 8, <<>>),
            expect_tcp_close(C),
            {C2, _} = open(Port),
            send(C2, 1, <<"ok">>),
            ?assertEqual({1, 1, <<"ok">>}, recv_frame(C2)),
            gen_tcp:close(C2)
        end},
        {"a handler frame that breaks the rules is a handler error (1011)", fun() ->
            {C, _} = open(Port),
            send(C, 1, <<"bad frame">>),
            ?assertMatch({1, 8, <<1011:16, _/binary>>}, recv_frame(C)),
            send(C, 8, <<>>),
            expect_tcp_close(C)
        end}
    ] end).

last_init() ->
    case get(last_init) of undefined -> error(no_pid); P -> P end.

handshake_test_() ->
    with_server(cfg(), #{}, fun(Port) -> [
        {"400 without a key, 426 with the supported version for version 8", fun() ->
            Bad = fun(Req) ->
                {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
                ok = gen_tcp:send(C, Req),
                R = response(C),
                Body = body(C),
                {R, Body}
            end,
            {{400, _}, B400} = Bad(<<"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                                     "sec-websocket-version: 13\r\n\r\n">>),
            ?assertEqual(<<"missing Sec-WebSocket-Key\n">>, B400),
            {{426, H426}, _} = Bad(<<"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                                     "sec-websocket-key: ", ?KEY/binary, "\r\nsec-websocket-version: 8\r\n\r\n">>),
            ?assertEqual(<<"13">>, proplists:get_value(<<"sec-websocket-version">>, H426)),
            {{400, _}, _} = Bad(<<"POST /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                                  "sec-websocket-key: ", ?KEY/binary, "\r\nsec-websocket-version: 13\r\ncontent-length: 0\r\n\r\n">>)
        end}
    ] end).

init_variants_test_() ->
    Modes = [proto, bad_proto, greet, bad_greet, refuse, crash_init],
    [with_server(cfg(), #{mode => M}, fun(Port) -> {atom_to_list(M), fun() -> init_case(M, Port) end} end)
     || M <- Modes].

init_case(proto, Port) ->
    {C, H} = open(Port, <<"sec-websocket-protocol: chat, mqtt\r\n">>, <<>>),
    ?assertEqual(<<"mqtt">>, proplists:get_value(<<"sec-websocket-protocol">>, H)),
    gen_tcp:close(C);
init_case(greet, Port) ->
    {C, H} = open(Port),
    ?assertEqual(undefined, proplists:get_value(<<"sec-websocket-protocol">>, H)),
    ?assertEqual({1, 1, <<"hello">>}, recv_frame(C)),
    ?assertEqual({1, 9, <<>>}, recv_frame(C)),
    gen_tcp:close(C);
init_case(bad_greet, Port) ->
    %% the upgrade is done, but the handler's first frame breaks the rules: 1011
    {C, _} = open(Port),
    ?assertMatch({1, 8, <<1011:16, _/binary>>}, recv_frame(C)),
    send(C, 8, <<1011:16>>),
    expect_tcp_close(C),
    ?assertMatch({crash, _}, expect_terminate());
init_case(Mode, Port) ->
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(C, handshake_req(<<"sec-websocket-protocol: chat\r\n">>)),
    Expected = case Mode of refuse -> 403; _ -> 500 end,
    ?assertMatch({Expected, _}, response(C)),
    expect_tcp_close(C).

idle_test_() ->
    with_server((cfg())#{ws_idle_timeout => 500}, #{}, fun(Port) -> [
        {"idle: a ping first, then close 1001 when the client stays silent", fun() ->
            {C, _} = open(Port),
            ?assertEqual({1, 9, <<>>}, recv_frame(C)),
            ?assertMatch({1, 8, <<1001:16, _/binary>>}, recv_frame(C)),
            send(C, 8, <<1001:16>>),
            expect_tcp_close(C),
            ?assertEqual(timeout, expect_terminate())
        end},
        {"idle: a pong keeps the connection", fun() ->
            {C, _} = open(Port),
            ?assertEqual({1, 9, <<>>}, recv_frame(C)),
            send(C, 10, <<>>),
            ?assertEqual({1, 9, <<>>}, recv_frame(C)),
            send(C, 1, <<"alive">>),
            ?assertEqual({1, 1, <<"alive">>}, recv_frame(C)),
            gen_tcp:close(C)
        end}
    ] end).

%% ---------------------------------------------------------------------------------------------------------
%% Behind the real server

server_test_() ->
    Routes = [{<<"/ws">>, httpd_ws_handler, #{handler => ?MODULE, test => ?MODULE}},
              {<<"/plain">>, ?MODULE, #{}}],
    {setup,
     fun() ->
         {ok, S} = httpd_server:start(#{port => 0, address => {127, 0, 0, 1}, routes => Routes,
                                        middleware => [{httpd_mw_security, #{}}], max_ws_connections => 1}),
         S
     end,
     fun httpd_server:stop/1,
     fun(S) -> [
        {"keep-alive request, then the upgrade on the same connection", fun() ->
            Port = httpd_server:port(S),
            sink(),
            {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
            ok = gen_tcp:send(C, <<"GET /plain HTTP/1.1\r\nhost: x\r\n\r\n">>),
            {200, _} = response(C),
            <<"plain">> = take(C, 5),
            ok = gen_tcp:send(C, [handshake_req([]), httpd_ws_frame:encode(true, 0, 1, <<5, 6, 7, 8>>, <<"first">>)]),
            {101, _} = response(C),
            ?assertEqual({1, 1, <<"first">>}, recv_frame(C)),
            receive {ws_init, Pid} -> put(last_init, Pid) after ?T -> error(no_init) end,
            send(C, 8, <<1000:16>>),
            ?assertEqual({1, 8, <<1000:16>>}, recv_frame(C)),
            expect_tcp_close(C),
            ?assertEqual({remote, 1000}, expect_terminate())
        end},
        {"max_ws_connections: 503 before upgrading, the slot frees when the WebSocket ends", fun() ->
            Port = httpd_server:port(S),
            {C1, _} = open(Port),
            {ok, C2} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
            ok = gen_tcp:send(C2, handshake_req([])),
            ?assertMatch({503, _}, response(C2)),
            expect_tcp_close(C2),
            send(C1, 8, <<1000:16>>),
            ?assertEqual({1, 8, <<1000:16>>}, recv_frame(C1)),
            expect_tcp_close(C1),
            expect_terminate(),
            ?assertEqual(101, retry_upgrade(Port, 100))
        end}
     ] end}.

%% The slot is released when the connection process has exited, just after its socket closed: retry a
%% bounded number of times.
retry_upgrade(_Port, 0) ->
    gave_up;
retry_upgrade(Port, N) ->
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(C, handshake_req([])),
    case response(C) of
        {101, _} -> gen_tcp:close(C), 101;
        {503, _} -> gen_tcp:close(C), timer:sleep(20), retry_upgrade(Port, N - 1)
    end.

%% N bytes of body after a response head.
take(C, N) ->
    Buf = get({buf, C}),
    case byte_size(Buf) >= N of
        true -> <<B:N/binary, Rest/binary>> = Buf, put({buf, C}, Rest), B;
        false -> {ok, More} = gen_tcp:recv(C, 0, ?T), put({buf, C}, <<Buf/binary, More/binary>>), take(C, N)
    end.

%% @doc Process. The app bench/atomvm/run.sh packs and boots on the real AtomVM (and on host OTP, to
%% compare): `AVMD_BENCH_SERVER' picks the server, all on 127.0.0.1 with a free port, printing
%% "PORT n" once it listens. Every server answers each request head with the same 13 bytes.
%%   ours            httpd_server with one route (the runtime as an app uses it)
%%   example         examples/hello_web's server (its modules are packed beside this one) without its
%%                   request-log middleware, for GET /api/hello?name=x (JSON through httpd_api_handler)
%%   minimal_socket  the smallest keep-alive server on the `socket' module (the fast path on AtomVM)
%%   minimal_gen_tcp the same on gen_tcp (what most AtomVM examples write)
%%   stages          no server: times each stage of the request path in a loop and prints
%%                   "STAGE name us_per_op" lines, then "STAGES done"
-module(bench_avm).

-export([start/0, handle/2, ws_init/2, ws_handle/2]).

-define(BODY, <<"Hello, World!">>).
-define(REPLY, <<"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!">>).

start() ->
    case os:getenv("AVMD_BENCH_SERVER") of
        "minimal_socket" -> minimal_socket();
        "minimal_gen_tcp" -> minimal_gen_tcp();
        "stages" -> stages();
        "example" -> example();
        _ -> ours()
    end.

%% The benchmark route; /mem answers "Processes Bytes": every process and the sum of their memory
%% (erlang:process_info/2, which both VMs have), for the idle-connection figures.
handle(_Req, mem) ->
    Ps = erlang:processes(),
    Bytes = sum([M || P <- Ps, {memory, M} <- [erlang:process_info(P, memory)]], 0),
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}],
     [integer_to_binary(length(Ps)), <<" ">>, integer_to_binary(Bytes)]};
handle(_Req, _Opts) ->
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], ?BODY}.

%% (AtomVM has no lists:sum/1)
sum([X | Xs], Acc) -> sum(Xs, Acc + X);
sum([], Acc) -> Acc.

%% /ws: an echo WebSocket, for the idle-WebSocket figure.
ws_init(_Req, _Opts) -> {ok, echo}.
ws_handle(Msg, State) -> {reply, Msg, State}.

ours() ->
    {ok, Server} = httpd_server:start(#{port => 0, address => {127, 0, 0, 1}, max_connections => 64,
                                        max_ws_connections => 16,
                                        routes => [{<<"/">>, ?MODULE, #{}}, {<<"/mem">>, ?MODULE, mem},
                                                   {<<"/ws">>, httpd_ws_handler, #{handler => ?MODULE}}]}),
    ready(httpd_server:port(Server)).

%% The example as a device runs it (its esp32 profile, routes and security headers), on 127.0.0.1
%% with a free port; without the request log (a UART line per request on a device) and without the
%% update and mDNS services, which a bench does not exercise.
example() ->
    Config = maps:remove(ota, maps:remove(mdns, hello_web:config())),
    {ok, Server} = httpd_server:start(Config#{port => 0, address => {127, 0, 0, 1},
                                              middleware => [{httpd_mw_security, #{}}]}),
    ready(httpd_server:port(Server)).

ready(Port) ->
    io:format("PORT ~p~n", [Port]),
    receive never -> ok end.

%% ---------------------------------------------------------------------------------------------
%% socket: one process per connection, recv with a 16 KB cap, find the end of each head, reply.

minimal_socket() ->
    {ok, L} = socket:open(inet, stream, tcp),
    ok = socket:setopt(L, {socket, reuseaddr}, true),
    ok = socket:bind(L, #{family => inet, addr => {127, 0, 0, 1}, port => 0}),
    ok = socket:listen(L, 128),
    {ok, #{port := Port}} = socket:sockname(L),
    spawn(fun() -> socket_accept(L) end),
    ready(Port).

socket_accept(L) ->
    {ok, S} = socket:accept(L, infinity),
    _ = socket:setopt(S, {otp, rcvbuf}, 16384),
    spawn(fun() -> socket_loop(S, <<>>) end),
    socket_accept(L).

socket_loop(S, Buf) ->
    case socket:recv(S, 0, infinity) of
        {ok, Data} -> socket_answer(S, <<Buf/binary, Data/binary>>);
        {error, _} -> socket:close(S)
    end.

socket_answer(S, Buf) ->
    case binary:split(Buf, <<"\r\n\r\n">>) of
        [_Head, Rest] ->
            ok = socket:send(S, ?REPLY),
            socket_answer(S, Rest);
        [_] ->
            socket_loop(S, Buf)
    end.

%% ---------------------------------------------------------------------------------------------
%% gen_tcp (the VM's default backend), the same loop.

minimal_gen_tcp() ->
    Addr = case erlang:system_info(machine) of
        "BEAM" -> [{ip, {127, 0, 0, 1}}];
        _ -> [{address, {127, 0, 0, 1}}]
    end,
    {ok, L} = gen_tcp:listen(0, Addr ++ [binary, {active, false}, {reuseaddr, true}, {backlog, 128}]),
    {ok, Port} = inet:port(L),
    spawn(fun() -> gen_tcp_accept(L) end),
    ready(Port).

gen_tcp_accept(L) ->
    {ok, S} = gen_tcp:accept(L),
    Pid = spawn(fun() -> receive go -> gen_tcp_loop(S, <<>>) end end),
    _ = gen_tcp:controlling_process(S, Pid),
    Pid ! go,
    gen_tcp_accept(L).

gen_tcp_loop(S, Buf) ->
    case gen_tcp:recv(S, 0) of
        {ok, Data} -> gen_tcp_answer(S, <<Buf/binary, Data/binary>>);
        {error, _} -> gen_tcp:close(S)
    end.

gen_tcp_answer(S, Buf) ->
    case binary:split(Buf, <<"\r\n\r\n">>) of
        [_Head, Rest] ->
            ok = gen_tcp:send(S, ?REPLY),
            gen_tcp_answer(S, Rest);
        [_] ->
            gen_tcp_loop(S, Buf)
    end.

%% ---------------------------------------------------------------------------------------------
%% The request path's stages one at a time, on the bench's own request (wrk sends these headers):
%% what each costs in this VM's interpreter, without sockets, in a process that grows its heap the
%% way a connection does (gen_tcp_server's spawn options).

-define(STAGE_RUNS, 2000).
-define(REQUEST, <<"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n">>).

stages() ->
    Opts = case erlang:system_info(machine) of
        "BEAM" -> [];
        _ -> [{atomvm_heap_growth, fibonacci}]
    end,
    Self = self(),
    spawn_opt(fun() -> stages_run(), Self ! stages_done end, Opts),
    receive stages_done -> io:format("STAGES done~n") end.

stages_run() ->
    Parser = httpd_parse:new(#{}),
    Router = httpd_router:compile([{<<"/">>, ?MODULE, #{}}, {<<"/mem">>, ?MODULE, mem}]),
    Reply = httpd_reply:opts({1, 1}, true, false, httpd_reply:opts()),
    Headers = [{<<"content-type">>, <<"text/plain">>}],
    Request = ?REQUEST,
    End = <<"\r\n\r\n">>,
    Body = ?BODY,
    stage(<<"split the head (binary:split, the floor)">>, fun() -> binary:split(Request, End) end),
    stage(<<"parse the head (httpd_parse:request_head/2)">>, fun() -> httpd_parse:request_head(Request, Parser) end),
    {request, Head, _} = httpd_parse:request_head(Request, Parser),
    Method = element(2, Head),
    Path = element(4, Head),
    stage(<<"route (httpd_router:match/3)">>, fun() -> httpd_router:match(Method, Path, Router) end),
    stage(<<"handler (bench_avm:handle/2)">>, fun() -> handle(#{}, #{}) end),
    stage(<<"reply (httpd_reply:response/4)">>, fun() -> httpd_reply:response(200, Headers, Body, Reply) end),
    stage(<<"reply to one binary (iolist_to_binary/1)">>,
          fun() -> iolist_to_binary(httpd_reply:response(200, Headers, Body, Reply)) end).

stage(Name, Fun) ->
    _ = Fun(),
    T0 = erlang:monotonic_time(microsecond),
    loop(Fun, ?STAGE_RUNS),
    T1 = erlang:monotonic_time(microsecond),
    io:format("STAGE ~s ~.2f~n", [Name, (T1 - T0) / ?STAGE_RUNS]).

loop(_Fun, 0) -> ok;
loop(Fun, N) -> _ = Fun(), loop(Fun, N - 1).

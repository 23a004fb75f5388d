%% @doc Process: the WebSocket benchmark (run by bench/ws/run.sh, never by the test suite).
%%
%% Server side (`server/0', one `erl'): our WebSocket echo (the example's echo_ws) on the runtime's
%% httpd_server (host profile), and as the baseline a minimal raw gen_tcp echo server of a few lines (no
%% HTTP, no framing, one process per connection). Prints "PORTS WsPort RawPort".
%%
%% Client side (`client/1', another `erl'): Erlang client processes, one per connection, each sending a
%% message and waiting for its echo before the next (one message in flight per connection), for a fixed
%% duration. Reported: messages echoed per second for 16-byte and 4 KB messages over 1 and 50
%% connections, against the raw TCP echo measured the same way in the same run.
%%
%% `memory/0' (a third `erl'): opens ?IDLE_CONNS idle WebSockets to a server in the same VM (the client
%% ends are plain sockets, no processes) and reports the memory of each connection process plus its reader
%% after a garbage collection, next to a bare process blocked in recv.
-module(ws_bench).

-export([server/0, client/1, memory/0]).

-define(DURATION, 3000).
-define(IDLE_CONNS, 200).

%% ---------------------------------------------------------------------------------------------------------
%% Server VM

server() ->
    Routes = [{<<"/echo">>, httpd_ws_handler, #{handler => ws_bench_echo()}}],
    {ok, S} = httpd_server:start(#{port => 0, address => {127, 0, 0, 1}, profile => host, routes => Routes,
                                   middleware => [], max_ws_connections => 1000, max_connections => 1000}),
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}, {reuseaddr, true},
                                 {backlog, 128}, {nodelay, true}]),
    {ok, RawPort} = inet:port(L),
    spawn(fun() -> raw_accept(L) end),
    io:format("PORTS ~p ~p~n", [httpd_server:port(S), RawPort]),
    receive stop -> ok end.

%% The WebSocket handler: echo (the example's echo_ws, compiled in by run.sh).
ws_bench_echo() -> echo_ws.

raw_accept(L) ->
    {ok, C} = gen_tcp:accept(L),
    Pid = spawn(fun() -> receive go -> raw_echo(C) end end),
    ok = gen_tcp:controlling_process(C, Pid),
    Pid ! go,
    raw_accept(L).

raw_echo(C) ->
    case gen_tcp:recv(C, 0) of
        {ok, D} -> ok = gen_tcp:send(C, D), raw_echo(C);
        {error, _} -> ok
    end.

%% The WebSocket connection processes (in httpd_ws_conn's loop) and their readers, collected, and their
%% total memory.
mem_probe() ->
    Procs = [{P, catch process_info(P, [current_function, memory])} || P <- processes()],
    Conns = [P || {P, [{current_function, {httpd_ws_conn, loop, _}}, _]} <- Procs],
    Readers = [P || {P, [{current_function, {httpd_ws_conn, reader, _}}, _]} <- Procs]
        ++ [P || {P, [{current_function, {prim_inet, recv0, _}}, _]} <- Procs],
    Mem = fun(Ps) -> lists:foldl(fun(P, A) -> {memory, M} = process_info(P, memory), A + M end, 0, Ps) end,
    AsIs = Mem(Conns) + Mem(Readers),
    [garbage_collect(P) || P <- Conns ++ Readers],
    {length(Conns), Mem(Conns), length(Readers), Mem(Readers), AsIs}.

%% ---------------------------------------------------------------------------------------------------------
%% Client VM

client([WsPortS, RawPortS]) ->
    WsPort = list_to_integer(WsPortS),
    RawPort = list_to_integer(RawPortS),
    io:format("~-38s ~12s ~12s ~8s~n", ["scenario (1 message in flight/conn)", "ws msg/s", "raw msg/s", "ratio"]),
    [begin
         Ws = run(ws, WsPort, Size, Conns),
         Raw = run(raw, RawPort, Size, Conns),
         io:format("~-38s ~12w ~12w ~8.2f~n",
                   [io_lib:format("~s x ~w conn", [size_name(Size), Conns]), Ws, Raw, Ws / max(1, Raw)])
     end || {Size, Conns} <- [{16, 1}, {4096, 1}, {16, 50}, {4096, 50}]],
    halt(0).

size_name(16) -> "16 B";
size_name(4096) -> "4 KB".

run(Kind, Port, Size, Conns) ->
    Self = self(),
    Msg = binary:copy(<<"x">>, Size),
    Socks = [connect(Kind, Port) || _ <- lists:seq(1, Conns)],
    Go = make_ref(),
    Pids = [spawn_link(fun() -> receive Go -> ok end, Self ! {done, loop(Kind, S, Msg, deadline(), 0)} end)
            || S <- Socks],
    [P ! Go || P <- Pids],
    Total = lists:sum([receive {done, N} -> N end || _ <- Pids]),
    [gen_tcp:close(S) || S <- Socks],
    round(Total * 1000 / ?DURATION).

deadline() -> erlang:monotonic_time(millisecond) + ?DURATION.

loop(Kind, S, Msg, Deadline, N) ->
    case erlang:monotonic_time(millisecond) < Deadline of
        false -> N;
        true -> echo(Kind, S, Msg), loop(Kind, S, Msg, Deadline, N + 1)
    end.

echo(raw, S, Msg) ->
    ok = gen_tcp:send(S, Msg),
    recv_n(S, byte_size(Msg));
echo(ws, S, Msg) ->
    ok = gen_tcp:send(S, httpd_ws_frame:encode(true, 0, 2, <<1, 2, 3, 4>>, Msg)),
    Len = byte_size(Msg),
    Head = if Len < 126 -> 2; Len < 65536 -> 4; true -> 10 end,
    recv_n(S, Head + Len).

recv_n(S, N) ->
    {ok, D} = gen_tcp:recv(S, N),
    D.

connect(raw, Port) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}]),
    S;
connect(ws, Port) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}]),
    ok = gen_tcp:send(S, <<"GET /echo HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                           "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n">>),
    head(S, <<>>),
    S.

head(S, Buf) ->
    case binary:split(Buf, <<"\r\n\r\n">>) of
        [<<"HTTP/1.1 101", _/binary>>, <<>>] -> ok;
        [_, _] -> error({handshake, Buf});
        [_] -> {ok, More} = gen_tcp:recv(S, 0), head(S, <<Buf/binary, More/binary>>)
    end.

memory() ->
    Routes = [{<<"/echo">>, httpd_ws_handler, #{handler => ws_bench_echo()}}],
    {ok, Server} = httpd_server:start(#{port => 0, address => {127, 0, 0, 1}, profile => host, routes => Routes,
                                        middleware => [], max_ws_connections => 1000, max_connections => 1000}),
    WsPort = httpd_server:port(Server),
    Socks = [connect(ws, WsPort) || _ <- lists:seq(1, ?IDLE_CONNS)],
    timer:sleep(500),
    {NC, MC, NR, MR, AsIs} = mem_probe(),
    Bare = bare_recv_process(),
    io:format("~nidle WebSocket connections on host BEAM: ~w (readers found: ~w)~n", [NC, NR]),
    io:format("  connection process: ~w bytes each~n", [MC div max(1, NC)]),
    io:format("  reader process:     ~w bytes each~n", [MR div max(1, NR)]),
    io:format("  per WebSocket:      ~w bytes after a GC, ~w bytes as found (a bare process blocked in recv: ~w bytes)~n",
              [(MC + MR) div max(1, NC), AsIs div max(1, NC), Bare]),
    [gen_tcp:close(S) || S <- Socks],
    halt(0).

%% The yardstick: a process doing nothing but block in gen_tcp:recv.
bare_recv_process() ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(L),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L),
    P = spawn(fun() -> receive go -> gen_tcp:recv(A, 0) end end),
    ok = gen_tcp:controlling_process(A, P),
    P ! go,
    timer:sleep(100),
    garbage_collect(P),
    {memory, M} = process_info(P, memory),
    gen_tcp:close(C),
    gen_tcp:close(L),
    M.

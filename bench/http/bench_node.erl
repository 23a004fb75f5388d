%% @doc Process. Host-side driver of bench/http/run.sh: starts one server (ours, inets or the
%% minimal baseline) in this VM and prints `PORT <n>', or measures the idle keep-alive connection of
%% our server, or the size of the runtime's device modules. Also the benchmark's handler (handle/2).
-module(bench_node).

-export([main/1, handle/2]).

-define(BODY, <<"Hello, World!">>).

%% @doc One job per VM; see run.sh.
-spec main([string()] | atom() | {atom(), string()}) -> ok.
main(ours) ->
    {ok, Server} = httpd_server:start(ours_config()),
    ready(httpd_server:port(Server));
main(inets) ->
    Root = os:getenv("BENCH_TMP"),
    Docs = filename:join(Root, "www"),
    ok = inets:start(),
    {ok, Pid} = inets:start(httpd, [
        {port, 0},
        {server_name, "bench"},
        {server_root, Root},
        {document_root, Docs},
        {bind_address, {127, 0, 0, 1}},
        %% without nodelay inets stalls ~40 ms per response on delayed ACKs
        {socket_type, {ip_comm, [{nodelay, true}]}},
        {modules, [mod_alias, mod_get]},
        {directory_index, ["index.html"]},
        {keep_alive, true},
        {max_keep_alive_request, 1000000},
        {max_clients, 1000}
    ]),
    [{port, Port}] = httpd:info(Pid, [port]),
    ready(Port);
main(minimal) ->
    {ok, Port} = minimal_server:start(0),
    ready(Port);
main(memory) ->
    idle_connection_memory();
main({size, Dir}) ->
    module_sizes(Dir).

ours_config() ->
    #{port => 0, address => {127, 0, 0, 1}, routes => [{<<"/">>, ?MODULE, #{}}]}.

%% @doc The benchmark route: the same 13 bytes every server sends.
-spec handle(map(), term()) -> {reply, 200, [{binary(), binary()}], binary()}.
handle(_Req, _Opts) ->
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], ?BODY}.

ready(Port) ->
    io:format("PORT ~b~n", [Port]),
    receive
        never -> ok
    end.

%% (e): one keep-alive connection served one request, then idle 2 s: the memory of the process that
%% owns the server side of the socket.
idle_connection_memory() ->
    {ok, Server} = httpd_server:start(ours_config()),
    Port = httpd_server:port(Server),
    Before = erlang:ports(),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}]),
    ok = gen_tcp:send(C, <<"GET / HTTP/1.1\r\nHost: bench\r\n\r\n">>),
    {ok, Reply} = recv_reply(C, <<>>),
    timer:sleep(2000),
    Owners = [
        Owner
     || P <- erlang:ports() -- Before,
        {connected, Owner} <- [erlang:port_info(P, connected)],
        Owner =/= self()
    ],
    [Conn] = Owners,
    {memory, Mem} = erlang:process_info(Conn, memory),
    {heap_size, Heap} = erlang:process_info(Conn, heap_size),
    {stack_size, Stack} = erlang:process_info(Conn, stack_size),
    {binary, Bins} = erlang:process_info(Conn, binary),
    io:format("IDLE_CONN_MEMORY ~b~n", [Mem]),
    io:format("IDLE_CONN_DETAIL heap_words=~b stack_words=~b refc_binaries=~b reply_bytes=~b~n",
        [Heap, Stack, length(Bins), byte_size(Reply)]),
    gen_tcp:close(C),
    ok.

recv_reply(C, Acc) ->
    {ok, Data} = gen_tcp:recv(C, 0, 5000),
    All = <<Acc/binary, Data/binary>>,
    case binary:match(All, <<"Hello, World!">>) of
        nomatch -> recv_reply(C, All);
        _ -> {ok, All}
    end.

%% (f): total size of the device modules: as built, with debug info stripped (the chunks beam_lib:strip/1
%% keeps, written uncompressed: strip/1 itself gzips its result) and with the Line table dropped as well
%% (AtomVM runs without it; it only improves stack traces).
module_sizes(Dir) ->
    Beams = filelib:wildcard(filename:join(Dir, "*.beam")),
    Sizes = [sizes(B) || B <- Beams],
    Sum = fun(I) -> lists:sum([element(I, S) || S <- Sizes]) end,
    [
        io:format("SIZE_MODULE ~s ~b~n", [filename:basename(B, ".beam"), NoLine])
     || {B, {_, _, NoLine}} <- lists:zip(Beams, Sizes)
    ],
    io:format("MODULES ~b~nSIZE_RAW ~b~nSIZE_STRIPPED ~b~nSIZE_STRIPPED_NOLINE ~b~n",
        [length(Beams), Sum(1), Sum(2), Sum(3)]),
    ok.

sizes(File) ->
    {ok, Bin} = file:read_file(File),
    {ok, {_, Gzipped}} = beam_lib:strip(Bin),
    {ok, _, Chunks} = beam_lib:all_chunks(zlib:gunzip(Gzipped)),
    {ok, Stripped} = beam_lib:build_module(Chunks),
    {ok, NoLine} = beam_lib:build_module([C || {Id, _} = C <- Chunks, Id =/= "Line"]),
    {byte_size(Bin), byte_size(Stripped), byte_size(NoLine)}.

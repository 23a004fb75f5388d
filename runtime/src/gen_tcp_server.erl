%% @doc Process: an HTTP-agnostic TCP server in the manner of Ranch. It listens, accepts in one
%% acceptor loop, runs one process per connection, and caps the number of open connections.
%%
%% The server process owns the listening socket, monitors every connection (that is how it counts
%% them) and keeps the idle set and the named slots (`claim/3'). The acceptor process accepts, asks
%% the server whether the connection may start, hands the socket over and goes back to accepting.
%% For each connection it calls `Protocol:init(Socket, Args)' in a new process that owns the socket;
%% when the cap is reached and `on_full' is `reject', it calls `Protocol:reject(Socket, Args)' in
%% a short-lived process (a short write and a close) and, with `evict_idle', closes the connection that has been
%% idle the longest first and starts the new one in its place.
%%
%% Idle tracking costs nothing per request: a connection reports `idle/0' only after it has waited
%% for a while with no request, and `busy/0' only when data arrives after such a report.
-module(gen_tcp_server).

-export([start/1, stop/1, port/1, claim/3, idle/0, busy/0, wake/0, server/0, info/1]).

-callback init(Socket :: term(), Args :: term()) -> any().
-callback reject(Socket :: term(), Args :: term()) -> any().

-type opts() :: #{
    port := inet_port(),
    protocol := module(),
    args => term(),
    address => any | {byte(), byte(), byte(), byte()},
    transport => tcp_transport:transport(),
    backlog => pos_integer(),
    max_connections => pos_integer(),
    on_full => reject | evict_idle
}.
-type inet_port() :: 0..65535.
-export_type([opts/0]).

-define(CALL_TIMEOUT, 5000).
%% How long a full server waits for a closing connection to exit before it refuses a newcomer.
-define(FULL_GRACE_MS, 50).

%% The server's state: conns maps each connection pid to its socket (so an evicted connection's
%% socket can be closed from here), idle maps pid to the monotonic time of its idle report, and
%% slots maps a tag to the pids holding one of its slots. proto is {Protocol, Args}.
-record(st, {lsock, acceptor, proto, max, on_full, spawn_opts, conns = #{}, idle = #{}, slots = #{}}).

%% @doc Starts a server: listens on `port' (0 picks a free one) and accepts connections.
-spec start(opts()) -> {ok, pid()} | {error, term()}.
start(Opts) when is_map(Opts) ->
    case check_opts(maps:to_list(Opts), Opts) of
        ok ->
            Caller = self(),
            Ref = make_ref(),
            Pid = spawn(fun() -> init_server(Caller, Ref, Opts) end),
            MRef = erlang:monitor(process, Pid),
            receive
                {Ref, Reply} ->
                    erlang:demonitor(MRef, [flush]),
                    Reply;
                {'DOWN', MRef, process, Pid, Reason} ->
                    {error, Reason}
            end;
        Error ->
            Error
    end;
start(_) ->
    {error, {bad_opts, not_a_map}}.

%% @doc Stops the server: closes the listening socket and every connection.
-spec stop(pid()) -> ok.
stop(Server) ->
    _ = call(Server, stop),
    ok.

%% @doc The bound port (the real one when the server was started with port 0).
-spec port(pid()) -> inet_port().
port(Server) ->
    {ok, Port} = call(Server, port),
    Port.

%% @doc Counters for tests and dashboards: open connections, idle ones, slots held per tag.
-spec info(pid()) -> #{connections := non_neg_integer(), idle := non_neg_integer(), slots := map()}.
info(Server) ->
    {ok, Info} = call(Server, info),
    Info.

%% @doc Takes one of `Max' slots of kind `Tag' for the calling connection process (WebSocket caps
%% use `websocket'). The slot is released when the process exits.
-spec claim(pid(), term(), non_neg_integer()) -> ok | full.
claim(Server, Tag, Max) ->
    case call(Server, {claim, Tag, Max, self()}) of
        {ok, Reply} -> Reply;
        {error, _} -> full
    end.

%% @doc The server that started the calling connection process (undefined elsewhere).
-spec server() -> pid() | undefined.
server() ->
    get('$gen_tcp_server').

%% @doc Reports the calling connection as idle (waiting for a request); it becomes a candidate
%% for eviction when the server is full and configured with `evict_idle'.
-spec idle() -> ok.
idle() ->
    notify({idle, self(), erlang:monotonic_time(millisecond)}).

%% @doc Reports the calling connection as busy again after `idle/0' and returns the protocol's
%% `Args' (one call): a connection may drop its copy of `Args' while idle, to stay small, and get it
%% back here when a request arrives.
-spec wake() -> {ok, term()} | {error, term()}.
wake() ->
    case server() of
        undefined -> {error, no_server};
        Server -> call(Server, {wake, self()})
    end.

%% @doc Reports the calling connection as busy again after `idle/0'.
-spec busy() -> ok.
busy() ->
    notify({busy, self()}).

notify(Msg) ->
    case server() of
        undefined -> ok;
        Server -> Server ! Msg, ok
    end.

%% ---------------------------------------------------------------------------------------------
%% Server process

%% Every option given is checked, then the required ones must be there.
check_opts([{K, V} | Rest], Opts) ->
    case invalid(K, V) of
        false -> check_opts(Rest, Opts);
        true -> {error, {bad_opt, K, V}}
    end;
check_opts([], #{port := _, protocol := _}) ->
    ok;
check_opts([], #{port := _}) ->
    {error, {missing_opt, protocol}};
check_opts([], _) ->
    {error, {missing_opt, port}}.

invalid(port, P) when is_integer(P), P >= 0, P =< 65535 -> false;
invalid(protocol, M) when is_atom(M) -> false;
invalid(on_full, V) when V =:= reject; V =:= evict_idle -> false;
invalid(address, any) -> false;
invalid(transport, T) when T =:= gen_tcp; T =:= socket -> false;
%% all four are integers 0..255 (bor fails the guard on anything else)
invalid(address, {A, B, C, D}) when (A bor B bor C bor D) band -256 =:= 0 -> false;
invalid(K, N) when K =:= max_connections, is_integer(N), N > 0; K =:= backlog, is_integer(N), N > 0 -> false;
%% A known key that failed its clause above; other keys (args) are the protocol's business.
invalid(K, _) -> lists:member(K, [port, protocol, on_full, address, transport, max_connections, backlog]).

init_server(Caller, Ref, Opts = #{port := Port, protocol := Protocol}) ->
    case tcp_transport:listen(Port, Opts) of
        {ok, LSock} ->
            Server = self(),
            Proto = {Protocol, maps:get(args, Opts, undefined)},
            Acceptor = spawn_link(fun() -> accept_loop(Server, LSock, Proto) end),
            Caller ! {Ref, {ok, Server}},
            loop(#st{
                lsock = LSock,
                acceptor = Acceptor,
                proto = Proto,
                max = maps:get(max_connections, Opts, 64),
                on_full = maps:get(on_full, Opts, reject),
                spawn_opts = conn_spawn_opts()
            });
        {error, Reason} ->
            Caller ! {Ref, {error, {listen, Reason}}}
    end.

%% AtomVM's default heap growth keeps a process's free heap small, so a request's garbage means a
%% collection every few kilobytes, each copying the connection's live data (its config). Fibonacci
%% growth (OTP's) collects far less often; an idle connection still shrinks (httpd_conn collects
%% before it idles). OTP refuses options it does not know.
conn_spawn_opts() ->
    case catch erlang:system_info(machine) of
        "BEAM" -> [];
        _ -> [{atomvm_heap_growth, fibonacci}]
    end.

loop(St = #st{conns = Conns, idle = Idle}) ->
    receive
        {accepted, Acceptor, Sock} ->
            loop(admit(Acceptor, Sock, St));
        {idle, Pid, T} when is_map_key(Pid, Conns) ->
            loop(St#st{idle = Idle#{Pid => T}});
        {busy, Pid} ->
            loop(St#st{idle = maps:remove(Pid, Idle)});
        {'DOWN', _MRef, process, Pid, _Reason} ->
            loop(forget(Pid, St));
        {call, From, Ref, stop} ->
            From ! {Ref, {ok, ok}},
            tcp_transport:close(St#st.lsock),
            exit(St#st.acceptor, kill),
            shutdown(St);
        {call, From, Ref, Request} ->
            {Reply, St2} = handle_call(Request, St),
            From ! {Ref, Reply},
            loop(St2);
        _Other ->
            %% Includes the linked acceptor's exit (it only exits when the listening socket closes).
            loop(St)
    end.

handle_call(port, St) ->
    {tcp_transport:port(St#st.lsock), St};
handle_call(info, St = #st{conns = Conns, idle = Idle, slots = Slots}) ->
    Counts = maps:map(fun(_Tag, Pids) -> map_size(Pids) end, Slots),
    {{ok, #{connections => map_size(Conns), idle => map_size(Idle), slots => Counts}}, St};
handle_call({claim, Tag, Max, Pid}, St = #st{slots = Slots}) ->
    Held = maps:get(Tag, Slots, #{}),
    if
        is_map_key(Pid, Held) ->
            {{ok, ok}, St};
        map_size(Held) < Max ->
            %% Claimers that are not our connections are monitored so their slot is released too.
            _ = is_map_key(Pid, St#st.conns) orelse erlang:monitor(process, Pid),
            {{ok, ok}, St#st{slots = Slots#{Tag => Held#{Pid => true}}}};
        true ->
            {{ok, full}, St}
    end;
handle_call({wake, Pid}, St = #st{proto = {_, Args}}) ->
    {{ok, Args}, St#st{idle = maps:remove(Pid, St#st.idle)}}.

%% Decides about a freshly accepted socket: start a connection, evict the connection that reported
%% idle first, or reject.
admit(Acceptor, Sock, St = #st{conns = Conns, max = Max}) when map_size(Conns) < Max ->
    start_conn(Acceptor, Sock, St);
admit(Acceptor, Sock, St = #st{on_full = evict_idle, idle = Idle}) when map_size(Idle) > 0 ->
    [{Oldest, _} | _] = lists:keysort(2, maps:to_list(Idle)),
    start_conn(Acceptor, Sock, evict(Oldest, St));
admit(Acceptor, Sock, St = #st{conns = Conns}) ->
    %% Full. A connection that just closed its socket may not have exited yet, and its client may
    %% already be back (a browser reconnects as soon as it sees the close): wait a moment for such an
    %% exit before refusing, so a closed connection's slot is free when its socket is.
    receive
        {'DOWN', _MRef, process, Pid, _Reason} when is_map_key(Pid, Conns) ->
            admit(Acceptor, Sock, forget(Pid, St))
    after ?FULL_GRACE_MS ->
        Acceptor ! {admit, reject},
        St
    end.

start_conn(Acceptor, Sock, St = #st{proto = {Protocol, Args}}) ->
    Server = self(),
    Pid = spawn_opt(fun() -> conn_init(Server, Protocol, Args) end, St#st.spawn_opts),
    _ = erlang:monitor(process, Pid),
    Acceptor ! {admit, {ok, Pid}},
    St#st{conns = (St#st.conns)#{Pid => Sock}}.

%% Closing the socket from here makes the connection's blocked recv return {error, closed}; the kill
%% covers a connection that is not in recv. Its monitor is dropped now so the slot frees at once.
evict(Pid, St) ->
    tcp_transport:close(maps:get(Pid, St#st.conns)),
    exit(Pid, kill),
    forget(Pid, St).

forget(Pid, St = #st{conns = Conns, idle = Idle, slots = Slots}) ->
    St#st{
        conns = maps:remove(Pid, Conns),
        idle = maps:remove(Pid, Idle),
        slots = maps:map(fun(_Tag, Held) -> maps:remove(Pid, Held) end, Slots)
    }.

%% Evicts the connections one by one (the listener is closed already).
shutdown(St = #st{conns = Conns}) when map_size(Conns) > 0 ->
    [Pid | _] = maps:keys(Conns),
    shutdown(evict(Pid, St));
shutdown(_) ->
    ok.

%% The connection process waits until the acceptor has made it the socket's owner.
conn_init(Server, Protocol, Args) ->
    receive
        {'$gen_tcp_server_socket', Sock} ->
            put('$gen_tcp_server', Server),
            Protocol:init(Sock, Args)
    end.

%% ---------------------------------------------------------------------------------------------
%% Acceptor process

accept_loop(Server, LSock, Proto) ->
    case tcp_transport:accept(LSock) of
        {ok, Sock} ->
            Server ! {accepted, self(), Sock},
            receive
                {admit, {ok, Pid}} ->
                    hand_over(Sock, Pid);
                {admit, reject} ->
                    reject(Sock, Proto)
            end,
            accept_loop(Server, LSock, Proto);
        {error, closed} ->
            %% The listening socket is gone (stop/1): the acceptor ends normally.
            ok;
        {error, _Reason} ->
            %% Out of sockets (emfile, lwIP's pool) or an aborted handshake: back off briefly
            %% rather than spin.
            timer:sleep(10),
            accept_loop(Server, LSock, Proto)
    end.

%% The reject runs in a short-lived process of its own, so a slow client cannot stall accepting
%% while the protocol writes its refusal and drains what the client sent.
reject(Sock, {Protocol, Args}) ->
    hand_over(Sock, spawn(fun() ->
        receive
            {'$gen_tcp_server_socket', S} ->
                catch Protocol:reject(S, Args),
                tcp_transport:close(S)
        end
    end)).

%% Gives the socket to the process that will own it and tells that process; kills it if the socket
%% is already gone.
hand_over(Sock, Pid) ->
    case tcp_transport:controlling_process(Sock, Pid) of
        ok -> Pid ! {'$gen_tcp_server_socket', Sock};
        {error, _} -> tcp_transport:close(Sock), exit(Pid, kill)
    end.

%% ---------------------------------------------------------------------------------------------

call(Server, Request) ->
    MRef = erlang:monitor(process, Server),
    Ref = make_ref(),
    Server ! {call, self(), Ref, Request},
    receive
        {Ref, Reply} ->
            erlang:demonitor(MRef, [flush]),
            Reply;
        {'DOWN', MRef, process, Server, Reason} ->
            {error, {noproc, Reason}}
    after ?CALL_TIMEOUT ->
        erlang:demonitor(MRef, [flush]),
        {error, timeout}
    end.

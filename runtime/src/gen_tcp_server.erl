%% @doc Process: an HTTP-agnostic TCP server in the manner of Ranch. It listens, accepts in one
%% acceptor loop, runs one process per connection, and caps the number of open connections.
%%
%% The server process owns the listening socket, monitors every connection (that is how it counts
%% them) and keeps the idle set and the named slots (`claim/3'). The acceptor process accepts, asks
%% the server whether the connection may start, hands the socket over and goes back to accepting.
%% For each connection it calls `Protocol:init(Socket, Args)' in a new process that owns the socket;
%% when the cap is reached and `on_full' is `reject', it calls `Protocol:reject(Socket, Args)' in the
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
    backlog => pos_integer(),
    max_connections => pos_integer(),
    on_full => reject | evict_idle
}.
-type inet_port() :: 0..65535.
-export_type([opts/0]).

-define(CALL_TIMEOUT, 5000).

%% The server's state: conns maps each connection pid to its socket (so an evicted connection's
%% socket can be closed from here), idle maps pid to the monotonic time of its idle report, and
%% slots maps a tag to the pids holding one of its slots.
-record(st, {
    lsock,
    acceptor,
    port,
    protocol,
    args,
    max,
    on_full,
    conns = #{},
    idle = #{},
    slots = #{}
}).

%% @doc Starts a server: listens on `port' (0 picks a free one) and accepts connections.
-spec start(opts()) -> {ok, pid()} | {error, term()}.
start(Opts) when is_map(Opts) ->
    case check_opts(Opts) of
        ok ->
            Caller = self(),
            Ref = make_ref(),
            Pid = spawn(fun() -> init_server(Caller, Ref, Opts) end),
            MRef = erlang:monitor(process, Pid),
            receive
                {Ref, ok} ->
                    erlang:demonitor(MRef, [flush]),
                    {ok, Pid};
                {Ref, {error, _} = Error} ->
                    erlang:demonitor(MRef, [flush]),
                    Error;
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
    case server() of
        undefined -> ok;
        Server -> Server ! {idle, self(), erlang:monotonic_time(millisecond)}, ok
    end.

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
    case server() of
        undefined -> ok;
        Server -> Server ! {busy, self()}, ok
    end.

%% ---------------------------------------------------------------------------------------------
%% Server process

check_opts(Opts) ->
    %% a validity clause per key rather than a fun per key: less code on the device
    Checks = [
        {port, required},
        {protocol, required},
        {max_connections, optional},
        {backlog, optional},
        {on_full, optional},
        {address, optional}
    ],
    check(Checks, Opts).

check([], _Opts) ->
    ok;
check([{Key, Need} | Rest], Opts) ->
    case maps:find(Key, Opts) of
        {ok, V} ->
            case valid(Key, V) of
                true -> check(Rest, Opts);
                false -> {error, {bad_opt, Key, V}}
            end;
        error when Need =:= required -> {error, {missing_opt, Key}};
        error -> check(Rest, Opts)
    end.

valid(port, P) -> is_integer(P) andalso P >= 0 andalso P =< 65535;
valid(protocol, M) -> is_atom(M);
valid(on_full, V) -> V =:= reject orelse V =:= evict_idle;
valid(address, A) -> valid_address(A);
%% max_connections, backlog
valid(_, N) -> is_integer(N) andalso N > 0.

valid_address(any) -> true;
valid_address({A, B, C, D}) -> lists:all(fun(X) -> is_integer(X) andalso X >= 0 andalso X =< 255 end, [A, B, C, D]);
valid_address(_) -> false.

init_server(Caller, Ref, Opts) ->
    case gen_tcp:listen(maps:get(port, Opts), listen_opts(Opts)) of
        {ok, LSock} ->
            {ok, Port} = inet:port(LSock),
            Server = self(),
            Protocol = maps:get(protocol, Opts),
            Args = maps:get(args, Opts, undefined),
            Acceptor = spawn_link(fun() -> accept_loop(Server, LSock, {Protocol, Args}) end),
            Caller ! {Ref, ok},
            loop(#st{
                lsock = LSock,
                acceptor = Acceptor,
                port = Port,
                protocol = Protocol,
                args = Args,
                max = maps:get(max_connections, Opts, 64),
                on_full = maps:get(on_full, Opts, reject)
            });
        {error, Reason} ->
            Caller ! {Ref, {error, {listen, Reason}}}
    end.

%% On a device the inet backend binds with `{address, Addr}' and ignores `{ip, Addr}'; OTP wants
%% `{ip, Addr}' and rejects `{address, _}' (FACTS.md, "Sockets"). AtomVM answers "ATOM" for
%% `machine', OTP "BEAM". On OTP, nodelay: a reply is one send, so Nagle can only delay it.
listen_opts(Opts) ->
    Base = [binary, {active, false}, {reuseaddr, true}, {backlog, maps:get(backlog, Opts, 16)}],
    OnBeam = (catch erlang:system_info(machine)) =:= "BEAM",
    case {maps:get(address, Opts, any), OnBeam} of
        {any, true} -> [{nodelay, true} | Base];
        {any, false} -> Base;
        {Addr, true} -> [{ip, Addr}, {nodelay, true} | Base];
        {Addr, false} -> [{address, Addr} | Base]
    end.

loop(St) ->
    receive
        {accepted, Acceptor, Sock} ->
            loop(admit(Acceptor, Sock, St));
        {idle, Pid, T} ->
            case St#st.conns of
                #{Pid := _} -> loop(St#st{idle = maps:put(Pid, T, St#st.idle)});
                _ -> loop(St)
            end;
        {busy, Pid} ->
            loop(St#st{idle = maps:remove(Pid, St#st.idle)});
        {'DOWN', _MRef, process, Pid, _Reason} ->
            loop(forget(Pid, St));
        {call, From, Ref, Request} ->
            case handle_call(Request, St) of
                {stop, Reply} ->
                    From ! {Ref, Reply},
                    shutdown(St);
                {Reply, St2} ->
                    From ! {Ref, Reply},
                    loop(St2)
            end;
        {'EXIT', _, _} ->
            %% The acceptor is linked; it only exits when the listening socket closes.
            loop(St);
        _Other ->
            loop(St)
    end.

handle_call(port, St) ->
    {{ok, St#st.port}, St};
handle_call(info, St) ->
    Slots = maps:map(fun(_Tag, Pids) -> map_size(Pids) end, St#st.slots),
    {{ok, #{connections => map_size(St#st.conns), idle => map_size(St#st.idle), slots => Slots}}, St};
handle_call({claim, Tag, Max, Pid}, St) ->
    Held = maps:get(Tag, St#st.slots, #{}),
    case is_map_key(Pid, Held) of
        true ->
            {{ok, ok}, St};
        false when map_size(Held) < Max ->
            %% Claimers that are not our connections are monitored so their slot is released too.
            _ = case St#st.conns of
                #{Pid := _} -> ok;
                _ -> erlang:monitor(process, Pid)
            end,
            {{ok, ok}, St#st{slots = maps:put(Tag, maps:put(Pid, true, Held), St#st.slots)}};
        false ->
            {{ok, full}, St}
    end;
handle_call({wake, Pid}, St) ->
    {{ok, St#st.args}, St#st{idle = maps:remove(Pid, St#st.idle)}};
handle_call(stop, _St) ->
    {stop, {ok, ok}};
handle_call(_Other, St) ->
    {{error, bad_request}, St}.

%% Decides about a freshly accepted socket: start a connection, evict an idle one first, or reject.
admit(Acceptor, Sock, St = #st{conns = Conns, max = Max}) when map_size(Conns) < Max ->
    start_conn(Acceptor, Sock, St);
admit(Acceptor, Sock, St = #st{on_full = evict_idle}) ->
    case oldest_idle(St#st.idle) of
        none ->
            Acceptor ! {admit, reject},
            St;
        Pid ->
            start_conn(Acceptor, Sock, evict(Pid, St))
    end;
admit(Acceptor, _Sock, St) ->
    Acceptor ! {admit, reject},
    St.

start_conn(Acceptor, Sock, St) ->
    Server = self(),
    {Protocol, Args} = {St#st.protocol, St#st.args},
    Pid = spawn(fun() -> conn_init(Server, Protocol, Args) end),
    _ = erlang:monitor(process, Pid),
    Acceptor ! {admit, {ok, Pid}},
    St#st{conns = maps:put(Pid, Sock, St#st.conns)}.

oldest_idle(Idle) ->
    Oldest = maps:fold(
        fun
            (Pid, T, none) -> {Pid, T};
            (Pid, T, {_, T0}) when T < T0 -> {Pid, T};
            (_, _, Acc) -> Acc
        end,
        none,
        Idle
    ),
    case Oldest of
        none -> none;
        {Pid, _} -> Pid
    end.

%% Closing the socket from here makes the connection's blocked recv return {error, closed}; the kill
%% covers a connection that is not in recv. Its monitor is dropped now so the slot frees at once.
evict(Pid, St) ->
    case maps:find(Pid, St#st.conns) of
        {ok, Sock} -> catch gen_tcp:close(Sock);
        error -> ok
    end,
    exit(Pid, kill),
    forget(Pid, St).

forget(Pid, St = #st{conns = Conns, idle = Idle, slots = Slots}) ->
    St#st{
        conns = maps:remove(Pid, Conns),
        idle = maps:remove(Pid, Idle),
        slots = maps:map(fun(_Tag, Held) -> maps:remove(Pid, Held) end, Slots)
    }.

shutdown(St) ->
    catch gen_tcp:close(St#st.lsock),
    exit(St#st.acceptor, kill),
    maps:foreach(
        fun(Pid, Sock) ->
            catch gen_tcp:close(Sock),
            exit(Pid, kill)
        end,
        St#st.conns
    ),
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
    case gen_tcp:accept(LSock) of
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
            exit(normal);
        {error, _Reason} ->
            %% Out of sockets (emfile, lwIP's pool) or an aborted handshake: back off briefly
            %% rather than spin.
            timer:sleep(10),
            accept_loop(Server, LSock, Proto)
    end.

%% The reject runs in a short-lived process of its own, so a slow client cannot stall accepting
%% while the protocol writes its refusal and drains what the client sent.
reject(Sock, {Protocol, Args}) ->
    Pid = spawn(fun() ->
        receive
            {'$gen_tcp_server_socket', S} ->
                catch Protocol:reject(S, Args),
                catch gen_tcp:close(S)
        end
    end),
    _ = hand_over(Sock, Pid),
    ok.

%% Gives the socket to the process that will own it and tells that process; kills it if the socket
%% is already gone.
hand_over(Sock, Pid) ->
    case gen_tcp:controlling_process(Sock, Pid) of
        ok -> Pid ! {'$gen_tcp_server_socket', Sock};
        {error, _} -> catch gen_tcp:close(Sock), exit(Pid, kill)
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

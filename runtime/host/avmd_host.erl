%% @doc Process: the host harness. One long-lived `erl' that the avmd engine (engine/src/host.rs)
%% drives over stdio: requests are {packet,4} frames of tab-separated fields, except `load', whose frame is
%% the external term `{load, StateDir, Bundle, Sections}' (the engine reads the bundle and makes its
%% beams OTP-loadable; `Bundle' is the device bytes, for the `main.avm' partition shim); replies and events are {packet,4} frames of JSON. It boots an app from its sections the
%% way a device does (modules loaded, priv files registered for `atomvm:read_priv/2', the start module's
%% `start/0' called) and reboots it on a new bundle without restarting the VM. The app's output reaches the engine
%% as console lines: every app process has an `avmd_host_console' as group leader, and log events go
%% through `avmd_host_logger'. Host-only: never packed into a bundle.
-module(avmd_host).
-export([main/0, restart_app/0, state_file/1]).

%% Modules a bundle may not replace: the harness and the device shims.
-define(PROTECTED, [avmd_host, avmd_host_console, avmd_host_logger,
                    atomvm, esp, network, gpio]).
%% How long the harness looks for the app's listening socket after start/0.
-define(LISTEN_WAIT_MS, 15000).

-spec main() -> no_return().
main() ->
    register(avmd_host, self()),
    process_flag(trap_exit, true),
    Port = open_port({fd, 0, 1}, [{packet, 4}, binary, eof]),
    %% stdout carries frames only: harness output and logs go elsewhere.
    group_leader(whereis(standard_error), self()),
    _ = logger:remove_handler(default),
    ok = logger:add_handler(avmd_host, avmd_host_logger, #{}),
    %% The priv table must outlive app generations, so the harness owns it.
    _ = ets:new(avmd_priv, [named_table, public, set, {read_concurrency, true}]),
    loop(#{port => Port, console => undefined, modules => [], bundle => undefined, app => undefined,
           watcher => undefined}).

%% @doc Called by the `esp:restart/0' shim: reboot the app from its bundle.
-spec restart_app() -> ok.
restart_app() ->
    case whereis(avmd_host) of
        undefined -> ok;
        Pid -> Pid ! restart, ok
    end.

%% @doc A file beside the running bundle for device state (`nvs.term' ...), or `undefined' outside the harness.
-spec state_file(string()) -> file:filename() | undefined.
state_file(Name) ->
    case application:get_env(avmd_host, state_dir) of
        {ok, Dir} -> filename:join(Dir, Name);
        undefined -> undefined
    end.

loop(S = #{port := Port}) ->
    receive
        {Port, {data, <<131, _/binary>> = Term}} ->
            S2 = request(binary_to_term(Term), S),
            loop(S2);
        {Port, {data, Req}} ->
            S2 = request(binary:split(Req, <<"\t">>, [global]), S),
            loop(S2);
        {Port, eof} ->
            halt(0);
        {'EXIT', Port, _} ->
            %% stdout closed under us (EPIPE): the daemon is gone, and so must we be.
            halt(0);
        {console, Stream, Text} ->
            [event(S, #{event => console, stream => Stream, text => Line})
             || Line <- binary:split(Text, <<"\n">>, [global]), Line =/= <<>>],
            loop(S);
        {listening, Console, PortNo} when Console =:= map_get(console, S) ->
            event(S, #{event => listening, port => PortNo}),
            loop(S);
        {start_result, Console, Result} when Console =:= map_get(console, S) ->
            event(S, Result),
            loop(S);
        restart ->
            event(S, #{event => console, stream => harness, text => <<"esp:restart/0: rebooting the app">>}),
            S2 = case maps:get(bundle, S) of
                     undefined -> S;
                     {StateDir, Bundle, Sections} -> element(2, boot(StateDir, Bundle, Sections, S))
                 end,
            loop(S2);
        _ ->
            loop(S)
    end.

request([<<"ping">>], S) ->
    reply(S, #{reply => ping, ok => true}),
    S;
request([<<"config">>, Platform, Overrides, Port, MaxHeap], S) ->
    application:set_env(avmd_host, platform, binary_to_atom(Platform)),
    %% The app serves on 127.0.0.1 at the port the engine picked (docs/handlers.md, "Host overrides").
    User = case parse_term(Overrides) of
               M when is_map(M) -> M;
               _ -> #{}
           end,
    application:set_env(avmd, httpd_overrides,
                        maps:merge(User, #{port => binary_to_integer(Port), address => {127, 0, 0, 1}})),
    case binary_to_integer(MaxHeap) of
        0 -> ok;
        Words -> erlang:system_flag(max_heap_size, #{size => Words, kill => true, error_logger => true})
    end,
    reply(S, #{reply => config, ok => true}),
    S;
request({load, StateDir, Bundle, Sections}, S) ->
    {Reply, S2} = boot(StateDir, Bundle, Sections, S),
    reply(S2, Reply#{reply => load}),
    S2;
request([<<"stop">>], S) ->
    S2 = stop_app(S),
    reply(S2, #{reply => stop, ok => true}),
    S2;
request(Other, S) ->
    reply(S, #{reply => error, ok => false, error => iolist_to_binary(io_lib:format("bad request ~tp", [Other]))}),
    S.

parse_term(Text) ->
    try
        {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(<<Text/binary, ".">>)),
        {ok, Term} = erl_parse:parse_term(Tokens),
        Term
    catch _:_ -> undefined
    end.

%% ---- booting ----

boot(StateDir, Bundle, Sections, S0) ->
    S = stop_app(S0),
    application:set_env(avmd_host, state_dir, binary_to_list(StateDir)),
    application:set_env(avmd_host, bundle, Bundle),
    ets:delete_all_objects(avmd_priv),
    Beams = [{Name, Flags, Data} || {Name, Flags, Data} <- Sections, Flags band 2 =/= 0],
    Privs = [{Name, Data} || {Name, Flags, Data} <- Sections, Flags band 4 =/= 0],
    [register_priv(Name, Data) || {Name, Data} <- Privs],
    {Loaded, Problems} = lists:foldl(fun load_beam/2, {[], []}, Beams),
    [event(S, #{event => console, stream => harness, text => P}) || P <- lists:reverse(Problems)],
    S2 = S#{modules => Loaded, bundle => {StateDir, Bundle, Sections}},
    case [Name || {Name, Flags, _} <- Beams, Flags band 1 =/= 0] of
        [StartName | _] ->
            Start = module_atom(StartName),
            case lists:member(Start, Loaded) of
                true ->
                    S3 = start_app(Start, S2),
                    {#{ok => true, start => atom_to_binary(Start), modules => length(Loaded),
                       priv => length(Privs)}, S3};
                false ->
                    {#{ok => false, error => <<"the start module did not load">>}, S2}
            end;
        [] ->
            {#{ok => false, error => <<"the bundle has no start module (no section with flag 1)">>}, S2}
    end.

register_priv(Name, Data) ->
    case binary:split(Name, <<"/priv/">>) of
        [App, Rel] -> atomvm:add_priv(binary_to_atom(App), Rel, Data);
        _ -> ok
    end.

module_atom(SectionName) ->
    binary_to_atom(case binary:split(SectionName, <<".beam">>) of [M | _] -> M end).

load_beam({Name, _Flags, Data}, {Loaded, Problems}) ->
    Mod = module_atom(Name),
    Protected = lists:member(Mod, ?PROTECTED) orelse code:is_sticky(Mod)
        orelse code:is_loaded(Mod) =:= {file, preloaded},
    case Protected of
        true ->
            {Loaded, [<<"skipped ", Name/binary, ": the host provides this module">> | Problems]};
        false ->
            _ = code:purge(Mod),
            case code:load_binary(Mod, binary_to_list(Name), Data) of
                {module, Mod} -> {[Mod | Loaded], Problems};
                {error, Why} ->
                    {Loaded, [iolist_to_binary(io_lib:format("cannot load ~ts: ~p", [Name, Why])) | Problems]}
            end
    end.

start_app(Start, S) ->
    Harness = self(),
    Console = avmd_host_console:start(Harness),
    Starter = spawn(fun() ->
        group_leader(Console, self()),
        Result = try Start:start() of
                     R -> #{event => app_returned, value => iolist_to_binary(io_lib:format("~tp", [R]))}
                 catch C:E:St ->
                     Harness ! {console, crash, iolist_to_binary(
                         io_lib:format("~p:start/0 failed: ~p:~tp ~tp", [Start, C, E, St]))},
                     #{event => app_crashed, error => iolist_to_binary(io_lib:format("~p:~tp", [C, E]))}
                 end,
        Harness ! {start_result, Console, Result},
        %% A device's start/0 that returns ends nothing else; keep this process so the app's other
        %% processes keep their group leader's generation alive.
        receive stop -> ok end
    end),
    Watcher = spawn(fun() -> watch_listen(Harness, Console, ?LISTEN_WAIT_MS div 50) end),
    S#{console => Console, app => Starter, watcher => Watcher}.

%% Finds the TCP socket the app listens on (owned by one of its processes) and tells the harness once.
watch_listen(_Harness, _Console, 0) -> ok;
watch_listen(Harness, Console, N) ->
    case listen_port(Console) of
        {ok, PortNo} -> Harness ! {listening, Console, PortNo};
        none -> receive stop -> ok after 50 -> watch_listen(Harness, Console, N - 1) end
    end.

listen_port(Console) ->
    App = app_processes(Console),
    Found = [P || P <- erlang:ports(),
                  erlang:port_info(P, name) =:= {name, "tcp_inet"},
                  lists:member(element(2, erlang:port_info(P, connected)), App),
                  listening(P)],
    case Found of
        [P | _] ->
            case inet:port(P) of
                {ok, No} -> {ok, No};
                _ -> none
            end;
        [] -> listen_socket(App)
    end.

%% The same for a server on OTP's `socket' module (tcp_transport's `socket' backend, which
%% `httpd:start/1,2' uses so atomvm_lib handlers get a `socket' as on a device).
listen_socket(App) ->
    Found = [S || S <- socket:which_sockets(tcp),
                  lists:member(maps:get(owner, socket:info(S), undefined), App),
                  socket:getopt(S, {socket, acceptconn}) =:= {ok, true}],
    case Found of
        [S | _] ->
            case socket:sockname(S) of
                {ok, #{port := No}} -> {ok, No};
                _ -> none
            end;
        [] -> none
    end.

listening(P) ->
    case prim_inet:getstatus(P) of
        {ok, Flags} -> lists:member(listen, Flags);
        _ -> false
    end.

app_processes(Console) ->
    [P || P <- processes(), P =/= Console,
          process_info(P, group_leader) =:= {group_leader, Console}].

%% Kills every process of the running app, then unloads its modules.
stop_app(S = #{console := undefined}) ->
    unload(S);
stop_app(S = #{console := Console, watcher := Watcher}) ->
    exit(Watcher, kill),
    Procs = app_processes(Console),
    Refs = [erlang:monitor(process, P) || P <- Procs],
    [exit(P, kill) || P <- Procs],
    [receive {'DOWN', R, process, _, _} -> ok after 5000 -> ok end || R <- Refs],
    Console ! stop,
    unload(S#{console => undefined, app => undefined, watcher => undefined}).

unload(S = #{modules := Mods}) ->
    [begin code:purge(M), code:delete(M), code:purge(M) end || M <- Mods],
    S#{modules => []}.

%% ---- wire ----

reply(S, Map) -> send(S, Map).
event(S, Map) -> send(S, Map).

send(#{port := Port}, Map) ->
    try port_command(Port, avmd_wire:json(Map))
    catch error:badarg -> halt(0)
    end.

%% @doc Process: the device's DNS-SD responder (RFC 6762, RFC 6763) on AtomVM's `socket' module (the
%% same calls on OTP): the service `<instance>._avmd._tcp.local' (and `_http._tcp') with SRV, TXT and
%% the host's A record, answering PTR, SRV, TXT, A and ANY questions for them and for
%% `_services._dns-sd._udp.local', announcing itself twice on start (RFC 6762 section 8.3) and saying
%% goodbye (TTL 0) when it stops. A packet it cannot read is dropped; memory per packet is bounded by
%% `mdns_wire' (at most 9000 bytes, 64 entries).
%%
%% `httpd_server' starts it for `mdns => #{...}' once the port is bound (docs/devices.md):
%% `interface' (the device's IPv4 address: the A record, and where it joins 224.0.0.251), `instance'
%% (default: the device id), `txt' (`[{Key, Value}]', binaries), `port' (mDNS's, default 5353; tests
%% only). It ends when `Owner' (the server) does.
-module(mdns_responder).

-export([start/2, stop/1, records/1, answer/2]).

-define(GROUP, {224, 0, 0, 251}).
-define(PORT, 5353).
-define(TTL, 120).          % RFC 6762 section 10: 120 s for records naming a host
-define(TTL_OTHER, 4500).   % and 75 minutes for the others
-define(T_A, 1).
-define(T_PTR, 12).
-define(T_TXT, 16).
-define(T_SRV, 33).
-define(T_ANY, 255).

%% @doc Starts the responder for a server (`Owner') listening on `HttpPort'.
-spec start(pid(), map()) -> {ok, pid()} | {error, term()}.
start(Owner, Config = #{interface := {_, _, _, _}, http_port := _}) ->
    Parent = self(),
    Pid = spawn(fun() -> init(Parent, Owner, Config) end),
    Ref = erlang:monitor(process, Pid),
    receive
        {Pid, started} -> erlang:demonitor(Ref, [flush]), {ok, Pid};
        {Pid, {error, _} = Error} -> erlang:demonitor(Ref, [flush]), Error;
        {'DOWN', Ref, process, Pid, Reason} -> {error, Reason}
    after 5000 ->
        exit(Pid, kill),
        {error, timeout}
    end;
start(_Owner, Config) ->
    {error, {bad_config, mdns, Config}}.

%% @doc Sends the goodbye and stops.
-spec stop(pid()) -> ok.
stop(Pid) ->
    Pid ! stop,
    ok.

init(Parent, Owner, Config = #{interface := If}) ->
    Port = maps:get(port, Config, ?PORT),
    case open(If, Port) of
        {ok, S} ->
            erlang:monitor(process, Owner),
            Service = service(Config),
            Parent ! {self(), started},
            announce(S, Port, Service, ?TTL),
            erlang:send_after(1000, self(), announce),
            loop(S, Port, Service);
        {error, _} = Error ->
            Parent ! {self(), Error}
    end.

open(If, Port) ->
    case socket:open(inet, dgram, udp) of
        {ok, S} ->
            Steps = [fun() -> socket:setopt(S, {socket, reuseaddr}, true) end,
                     fun() -> multicast_if(S, If) end,
                     fun() -> socket:setopt(S, {ip, add_membership}, #{multiaddr => ?GROUP, interface => If}) end,
                     %% bound to any: an ESP32 (esp-idf 5.4) hears nothing bound to its own address
                     fun() -> socket:bind(S, #{family => inet, port => Port, addr => {0, 0, 0, 0}}) end],
            case run(Steps) of
                ok -> {ok, S};
                Error -> socket:close(S), Error
            end;
        Error ->
            Error
    end.

%% OTP sends multicast out of the interface it is told; AtomVM has no such option and sends by its
%% routes (on a device, its one network interface).
multicast_if(S, If) ->
    case erlang:system_info(machine) of
        "BEAM" -> socket:setopt(S, {ip, multicast_if}, If);
        _ -> ok
    end.

run([Step | Rest]) ->
    case Step() of
        ok -> run(Rest);
        Error -> Error
    end;
run([]) ->
    ok.

loop(S, Port, Service) ->
    loop(S, Port, Service, 0).

%% Errors: receive failures in a row. AtomVM reads an empty datagram as `{error, closed}' and then
%% refuses to select on that socket (badarg): a packet, not the end. So a failure gets a new socket;
%% only a run of them stops the responder.
loop(S, Port, Service, Errors) ->
    case catch socket:recvfrom(S, 0, nowait) of
        {ok, {From, Packet}} ->
            handle(S, Port, From, Packet, Service),
            loop(S, Port, Service, 0);
        {select, {select_info, _, Ref}} ->
            wait(S, Port, Service, Ref);
        Failure when Errors < 8 ->
            _ = (catch socket:close(S)),
            case open(maps:get(addr, Service), Port) of
                {ok, S2} -> loop(S2, Port, Service, Errors + 1);
                {error, Reason} -> io:format("mdns: stopped: ~p after ~p~n", [Reason, Failure])
            end;
        Failure ->
            io:format("mdns: stopped: ~p~n", [Failure]),
            _ = (catch socket:close(S)),
            ok
    end.

%% Waits for the pending receive (`Ref') while announcing and watching the owner.
wait(S, Port, Service, Ref) ->
    receive
        {'$socket', S, select, Ref} ->
            loop(S, Port, Service, 0);
        announce ->
            announce(S, Port, Service, ?TTL),
            wait(S, Port, Service, Ref);
        Stop when Stop =:= stop; element(1, Stop) =:= 'DOWN' ->
            announce(S, Port, Service, 0),
            _ = socket:close(S),
            ok
    end.

%% One datagram: a query gets the answers it asks for, multicast (or unicast back to a querier that is
%% not on port 5353, RFC 6762 section 6.7, with its id); anything else is ignored.
handle(S, Port, From, Packet, Service) ->
    case mdns_wire:decode(Packet) of
        {ok, #{response := false, id := Id, questions := Qs}} ->
            case answer(Qs, Service) of
                {[], _} ->
                    ok;
                {Answers, Additional} ->
                    Legacy = maps:get(port, From, Port) =/= Port,
                    Msg = mdns_wire:encode(#{answers => Answers, additional => Additional,
                                             id => case Legacy of true -> Id; false -> 0 end}),
                    To = case Legacy of
                        true -> From;
                        false -> #{family => inet, port => Port, addr => ?GROUP}
                    end,
                    _ = socket:sendto(S, Msg, To),
                    ok
            end;
        _ ->
            ok
    end.

announce(S, Port, Service, Ttl) ->
    #{ptr := Ptr, srv := Srv, txt := Txt, a := A, http_ptr := HttpPtr} = records(Service),
    Answers = [R#{ttl => ttl(R, Ttl)} || R <- [Ptr, HttpPtr, Srv, Txt, A]],
    _ = socket:sendto(S, mdns_wire:encode(#{answers => Answers}), #{family => inet, port => Port, addr => ?GROUP}),
    ok.

ttl(_R, 0) -> 0;
ttl(#{type := T}, _) when T =:= ?T_A; T =:= ?T_SRV -> ?TTL;
ttl(_R, _) -> ?TTL_OTHER.

service(Config = #{interface := If, http_port := HttpPort}) ->
    Instance = maps:get(instance, Config, <<"avmd">>),
    #{instance => label(Instance), host => label(Instance), addr => If, http_port => HttpPort,
      txt => maps:get(txt, Config, [])}.

%% A DNS label: at most 63 bytes, dots (which would split it) turned into dashes.
label(Bin) ->
    L = << <<(case C of $. -> $-; _ -> C end)>> || <<C>> <= Bin >>,
    binary:part(L, 0, min(63, byte_size(L))).

%% @doc Pure. The records of a service: PTR (`_avmd._tcp' and `_http._tcp' → the instance), SRV, TXT,
%% A, and the instance's full names (names lowercased, as decoded questions are).
-spec records(map()) -> map().
records(#{instance := Instance, host := Host, addr := Addr, http_port := HttpPort, txt := Txt}) ->
    Avmd = [<<"_avmd">>, <<"_tcp">>, <<"local">>],
    Http = [<<"_http">>, <<"_tcp">>, <<"local">>],
    Inst = [Instance | Avmd],
    HttpInst = [Instance | Http],
    HostName = [Host, <<"local">>],
    #{ptr => #{name => Avmd, type => ?T_PTR, ttl => ?TTL_OTHER, data => mdns_wire:ptr(Inst)},
      http_ptr => #{name => Http, type => ?T_PTR, ttl => ?TTL_OTHER, data => mdns_wire:ptr(HttpInst)},
      srv => #{name => Inst, type => ?T_SRV, ttl => ?TTL, flush => true, data => mdns_wire:srv(HttpPort, HostName)},
      http_srv => #{name => HttpInst, type => ?T_SRV, ttl => ?TTL, flush => true, data => mdns_wire:srv(HttpPort, HostName)},
      txt => #{name => Inst, type => ?T_TXT, ttl => ?TTL_OTHER, flush => true, data => mdns_wire:txt(Txt)},
      http_txt => #{name => HttpInst, type => ?T_TXT, ttl => ?TTL_OTHER, flush => true, data => mdns_wire:txt(Txt)},
      a => #{name => HostName, type => ?T_A, ttl => ?TTL, flush => true, data => mdns_wire:a(Addr)},
      names => #{avmd => Avmd, http => Http, inst => lower_name(Inst), http_inst => lower_name(HttpInst),
                 host => lower_name(HostName)}}.

lower_name(Labels) -> [httpd_parse:lower(L) || L <- Labels].

%% @doc Pure. The answers and additional records for a query's questions (both empty when none is
%% ours).
-spec answer([mdns_wire:question()], map()) -> {[mdns_wire:record()], [mdns_wire:record()]}.
answer(Questions, Service) ->
    R = records(Service),
    #{names := N} = R,
    Meta = [<<"_services">>, <<"_dns-sd">>, <<"_udp">>, <<"local">>],
    Found = [answers_for(Name, Type, R, N, Meta) || #{name := Name, type := Type} <- Questions],
    Answers = dedup(lists:append([A || {A, _} <- Found]), []),
    Additional = [X || X <- dedup(lists:append([Ad || {_, Ad} <- Found]), []), not lists:member(X, Answers)],
    {Answers, Additional}.

answers_for(Name, Type, R = #{srv := Srv, txt := Txt, a := A}, N, Meta) ->
    #{avmd := Avmd, http := Http, inst := Inst, http_inst := HttpInst, host := Host} = N,
    Want = fun(T) -> Type =:= T orelse Type =:= ?T_ANY end,
    if
        Name =:= Meta ->
            case Want(?T_PTR) of
                true -> {[#{name => Meta, type => ?T_PTR, ttl => ?TTL_OTHER, data => mdns_wire:ptr(Avmd)},
                          #{name => Meta, type => ?T_PTR, ttl => ?TTL_OTHER, data => mdns_wire:ptr(Http)}], []};
                false -> {[], []}
            end;
        Name =:= Avmd ->
            pick(Want(?T_PTR), [maps:get(ptr, R)], [Srv, Txt, A]);
        Name =:= Http ->
            pick(Want(?T_PTR), [maps:get(http_ptr, R)], [maps:get(http_srv, R), maps:get(http_txt, R), A]);
        Name =:= Inst ->
            {[X || {T, X} <- [{?T_SRV, Srv}, {?T_TXT, Txt}], Want(T)], [A]};
        Name =:= HttpInst ->
            {[X || {T, X} <- [{?T_SRV, maps:get(http_srv, R)}, {?T_TXT, maps:get(http_txt, R)}], Want(T)], [A]};
        Name =:= Host ->
            pick(Want(?T_A), [A], []);
        true ->
            {[], []}
    end.

pick(true, Answers, Additional) -> {Answers, Additional};
pick(false, _, _) -> {[], []}.

dedup([X | Rest], Acc) ->
    case lists:member(X, Acc) of
        true -> dedup(Rest, Acc);
        false -> dedup(Rest, [X | Acc])
    end;
dedup([], Acc) ->
    lists:reverse(Acc).

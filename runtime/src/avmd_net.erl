%% @doc Process: the network bootstrap an app calls once, then its HTTP server runs (docs/devices.md).
%%
%% ```
%% avmd_net:start(#{http => HttpdConfig}).
%% '''
%% joins Wi-Fi in station mode with `sta' from the config or, when it names no `ssid', the credentials
%% `avmd provision' (or the setup page) stored in NVS (`avmd/wifi_ssid', `avmd/wifi_psk'). Once it has an
%% address it starts the server (`httpd_server:start/1', with `mdns => #{interface => Ip}' when the
%% config has `mdns'). With no credentials, or when the network is not found within `connect_timeout',
%% it starts an access point (`ap', default SSID `avmd-setup-<device>') and serves a setup page on the
%% HTTP port: the networks a scan found, an SSID + password form; what is saved goes to NVS and the
%% device tries again. A lost connection is retried with a doubling backoff (`backoff', default
%% `{1000, 60000}' ms); the app's callbacks `connected', `got_ip', `disconnected' (in `callbacks') run
%% in a process of their own. `sntp' and every other `network:start/1' option of the station
%% (`dhcp_hostname', ...) are passed through. IPv4 only: AtomVM has no IPv6.
-module(avmd_net).

-export([start/1, status/0, save/2, html/1]).

-define(TIMEOUT, 30000).
-define(BACKOFF, {1000, 60000}).

%% @doc Starts the bootstrap (registered as `avmd_net'); returns once the server or the setup page is up.
-spec start(map()) -> {ok, pid()} | {error, term()}.
start(Config = #{http := Http}) when is_map(Http) ->
    Parent = self(),
    Pid = spawn(fun() -> init(Parent, Config) end),
    Ref = erlang:monitor(process, Pid),
    receive
        {Pid, up} -> erlang:demonitor(Ref, [flush]), {ok, Pid};
        {'DOWN', Ref, process, Pid, Reason} -> {error, Reason}
    end;
start(Config) ->
    {error, {bad_config, avmd_net, Config}}.

%% @doc `{connected, Ip}', `{setup, Note}' or `connecting'.
-spec status() -> term().
status() ->
    call(status).

%% @doc Stores Wi-Fi credentials (the setup page calls it) and joins that network.
-spec save(binary(), binary()) -> ok.
save(Ssid, Psk) when is_binary(Ssid), is_binary(Psk) ->
    call({save, Ssid, Psk}).

call(Msg) ->
    Ref = make_ref(),
    avmd_net ! {call, self(), Ref, Msg},
    receive
        {Ref, Reply} -> Reply
    after 5000 -> {error, timeout}
    end.

%% ---- the process ----

-record(s, {config, creds, parent, server, mode = connecting, note = <<>>, backoff}).

init(Parent, Config) ->
    register(avmd_net, self()),
    {Min, _} = maps:get(backoff, Config, ?BACKOFF),
    S = #s{config = Config, creds = creds(Config), parent = Parent, backoff = Min},
    loop(connect(S)).

%% Station credentials: the config's, else NVS's.
creds(#{sta := Sta}) when is_list(Sta) ->
    case proplists:get_value(ssid, Sta) of
        undefined -> nvs_creds();
        Ssid -> {bin(Ssid), bin(proplists:get_value(psk, Sta, <<>>))}
    end;
creds(_) ->
    nvs_creds().

nvs_creds() ->
    case device_flash:nvs_get(avmd, wifi_ssid) of
        undefined -> undefined;
        Ssid -> {Ssid, case device_flash:nvs_get(avmd, wifi_psk) of undefined -> <<>>; P -> P end}
    end.

bin(B) when is_binary(B) -> B;
bin(L) when is_list(L) -> list_to_binary(L).

%% Tries the station; up → the app's server, else → the setup page.
connect(S = #s{creds = undefined}) ->
    setup(S, <<"No Wi-Fi network is configured yet.">>);
connect(S = #s{creds = {Ssid, Psk}, config = Config}) ->
    Self = self(),
    %% our own callbacks (network:wait_for_sta/2 would put its own first and hide ours): got_ip and
    %% disconnected come back here as messages, for the first join and for every reconnect
    Sta = [{ssid, Ssid}, {psk, Psk},
           {connected, fun() -> callback(Config, connected, []) end},
           {got_ip, fun(Info) -> Self ! {avmd_net, got_ip, Info} end},
           {disconnected, fun() -> Self ! disconnected, callback(Config, disconnected, []) end}
           | [O || O = {K, _} <- maps:get(sta, Config, []), K =/= ssid, K =/= psk]],
    _ = network:stop(),
    Started = network:start([{sta, Sta} | sntp(Config)]),
    Timeout = maps:get(connect_timeout, Config, ?TIMEOUT),
    receive
        {avmd_net, got_ip, {Ip, _Mask, _Gw} = Info} when element(1, Started) =:= ok ->
            callback(Config, got_ip, [Info]),
            io:format("avmd_net: joined ~s, address ~p~n", [Ssid, Ip]),
            app(stop_server(S), Ip)
    after Timeout ->
        io:format("avmd_net: cannot join ~s (~p)~n", [Ssid, Started]),
        setup(S, <<"Could not join ", (html(Ssid))/binary, ".">>)
    end.

sntp(#{sntp := Sntp}) -> [{sntp, Sntp}];
sntp(_) -> [].

app(S = #s{config = Config = #{http := Http}}, Ip) ->
    Cfg = case Http of
        #{mdns := M} when is_map(M) -> Http#{mdns := maps:merge(#{interface => Ip}, M)};
        _ -> Http
    end,
    {Min, _} = maps:get(backoff, Config, ?BACKOFF),
    case httpd_server:start(Cfg) of
        {ok, Server} ->
            up(S#s{server = Server, mode = {connected, Ip}, backoff = Min});
        {error, Reason} = Error ->
            io:format("avmd_net: the server did not start: ~p~n", [Reason]),
            exit(Error)
    end.

%% The access point and the setup page, on the app's HTTP port.
setup(S = #s{config = Config}, Note) ->
    S1 = stop_server(S),
    Ap = maps:get(ap, Config, [{ssid, <<"avmd-setup-", (device_flash:device_id())/binary>>}]),
    %% a mode change is a stop and a new start: the driver runs one configuration at a time
    _ = network:stop(),
    _ = network:start([{ap, Ap}]),
    Http = maps:get(http, Config),
    Setup = take([port, address, profile], Http, #{}),
    case httpd_server:start(Setup#{routes => [{<<"/*">>, avmd_net_setup, #{}}]}) of
        {ok, Server} ->
            io:format("avmd_net: setup page up (~s)~n", [Note]),
            up(S1#s{server = Server, mode = {setup, Note}, note = Note});
        {error, Reason} = Error ->
            io:format("avmd_net: the setup page did not start: ~p~n", [Reason]),
            exit(Error)
    end.

up(S = #s{parent = undefined}) ->
    S;
up(S = #s{parent = Parent}) ->
    Parent ! {self(), up},
    S#s{parent = undefined}.

take([K | Ks], From, Acc) ->
    take(Ks, From, case From of #{K := V} -> Acc#{K => V}; _ -> Acc end);
take([], _From, Acc) ->
    Acc.

stop_server(S = #s{server = undefined}) -> S;
stop_server(S = #s{server = Server}) ->
    httpd_server:stop(Server),
    S#s{server = undefined}.

loop(S = #s{mode = Mode, config = Config, backoff = Backoff}) ->
    receive
        {call, From, Ref, status} ->
            From ! {Ref, Mode},
            loop(S);
        {call, From, Ref, {save, Ssid, Psk}} ->
            _ = device_flash:nvs_put(avmd, wifi_ssid, Ssid),
            _ = device_flash:nvs_put(avmd, wifi_psk, Psk),
            From ! {Ref, ok},
            %% let the page's answer go out before the server it came from stops
            erlang:send_after(300, self(), retry),
            loop(S#s{creds = {Ssid, Psk}, mode = connecting});
        retry ->
            loop(connect(S));
        disconnected when element(1, Mode) =:= connected ->
            %% the app's server keeps running; the station reconnects after the backoff
            {_, Max} = maps:get(backoff, Config, ?BACKOFF),
            io:format("avmd_net: disconnected; reconnecting in ~p ms~n", [Backoff]),
            erlang:send_after(Backoff, self(), reconnect),
            loop(S#s{backoff = min(Max, Backoff * 2)});
        reconnect ->
            _ = network:sta_connect(),
            loop(S);
        {avmd_net, got_ip, Info} ->
            %% back after a reconnect: the server never stopped
            callback(Config, got_ip, [Info]),
            loop(S#s{backoff = element(1, maps:get(backoff, Config, ?BACKOFF))});
        _ ->
            loop(S)
    end.

callback(Config, Name, Args) ->
    case maps:get(callbacks, Config, #{}) of
        #{Name := F} when is_function(F, length(Args)) -> spawn(fun() -> apply(F, Args) end), ok;
        _ -> ok
    end.

%% @doc Pure. Text for HTML: `&', `<', `>', `"' escaped.
-spec html(binary()) -> binary().
html(Bin) ->
    << <<(case C of $& -> <<"&amp;">>; $< -> <<"&lt;">>; $> -> <<"&gt;">>; $" -> <<"&quot;">>;
                _ -> <<C>> end)/binary>> || <<C>> <= Bin >>.

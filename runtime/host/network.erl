%% @doc Pure (no process of its own): host-only stand-in for AtomVM's `network' module: the station and access point are up at once with
%% a loopback address, and the configured callbacks run as they would on a device.
%% `AVMD_WIFI=ssid:psk,other:psk2' names the networks in the air instead: a station joins only one of
%% them with its password (else `{error, no_ap_found}' or `{error, auth_fail}'), and `wifi_scan/0,1'
%% lists them; that is how `avmd_net''s setup page is tested. Never packed into a bundle.
-module(network).
-export([start/1, start_link/1, stop/0, wait_for_sta/0, wait_for_sta/1, wait_for_sta/2,
         wait_for_ap/0, wait_for_ap/1, wait_for_ap/2, sta_rssi/0, sta_status/0, sta_connect/0,
         sta_connect/1, sta_disconnect/0, wifi_scan/0, wifi_scan/1]).

-define(IP_INFO, {{127, 0, 0, 1}, {255, 0, 0, 0}, {127, 0, 0, 1}}).

-spec start(list()) -> {ok, pid()}.
start(Config) ->
    Sta = proplists:get_value(sta, Config, []),
    Ap = proplists:get_value(ap, Config, []),
    io:format("[network] start: station and access point up on 127.0.0.1 (host)~n"),
    case Sta =/= [] andalso joins(Sta) of
        true ->
            callback(Sta, connected, []),
            callback(Sta, got_ip, [?IP_INFO]);
        _ ->
            ok
    end,
    callback(Ap, ap_started, []),
    {ok, spawn(fun() -> receive stop -> ok end end)}.

-spec start_link(list()) -> {ok, pid()}.
start_link(Config) -> start(Config).

callback(Opts, Name, Args) ->
    case proplists:get_value(Name, Opts) of
        F when is_function(F, length(Args)) -> spawn(fun() -> apply(F, Args) end), ok;
        _ -> ok
    end.

-spec stop() -> ok.
stop() -> ok.

-spec wait_for_sta() -> {ok, tuple()}.
wait_for_sta() -> {ok, ?IP_INFO}.
-spec wait_for_sta(term()) -> {ok, tuple()} | {error, term()}.
wait_for_sta(Timeout) when is_integer(Timeout) -> wait_for_sta();
wait_for_sta(Config) -> wait_for_sta(Config, 30000).
-spec wait_for_sta(term(), timeout()) -> {ok, tuple()} | {error, term()}.
wait_for_sta(Config, _Timeout) ->
    Sta = proplists:get_value(sta, Config, Config),
    case joins(Sta) of
        true -> join(Sta);
        {false, Why} -> timer:sleep(100), {error, Why}
    end.

%% Whether a station with these options gets on a network in the air.
joins(Sta) ->
    case air() of
        any ->
            true;
        Networks ->
            Ssid = to_bin(proplists:get_value(ssid, Sta, <<>>)),
            Psk = to_bin(proplists:get_value(psk, Sta, <<>>)),
            case lists:keyfind(Ssid, 1, Networks) of
                {_, Psk} -> true;
                {_, _} -> {false, auth_fail};
                false -> {false, no_ap_found}
            end
    end.

join(Sta) ->
    callback(Sta, connected, []),
    callback(Sta, got_ip, [?IP_INFO]),
    {ok, ?IP_INFO}.

%% The networks `AVMD_WIFI' puts in the air, or `any' when it is not set.
air() ->
    case os:getenv("AVMD_WIFI") of
        false -> any;
        Text ->
            [case binary:split(N, <<":">>) of
                 [S, P] -> {S, P};
                 [S] -> {S, <<>>}
             end || N <- binary:split(list_to_binary(Text), <<",">>, [global]), N =/= <<>>]
    end.

to_bin(B) when is_binary(B) -> B;
to_bin(L) when is_list(L) -> list_to_binary(L).

-spec wait_for_ap() -> ok.
wait_for_ap() -> ok.
-spec wait_for_ap(term()) -> ok.
wait_for_ap(_ConfigOrTimeout) -> ok.
-spec wait_for_ap(term(), timeout()) -> ok.
wait_for_ap(_Config, _Timeout) -> ok.

-spec sta_rssi() -> {ok, integer()}.
sta_rssi() -> {ok, -40}.
-spec sta_status() -> connected.
sta_status() -> connected.
-spec sta_connect() -> ok.
sta_connect() -> ok.
-spec sta_connect(term()) -> ok.
sta_connect(_Config) -> ok.
-spec sta_disconnect() -> ok.
sta_disconnect() -> ok.
-spec wifi_scan() -> {ok, {non_neg_integer(), [map()]}}.
wifi_scan() ->
    Networks = case air() of
        any -> [];
        Ns -> Ns
    end,
    {ok, {length(Networks), [#{ssid => S, rssi => -40 - 7 * I, authmode => wpa2_psk, bssid => <<0:48>>,
                                channel => 6, hidden => false}
                              || {I, {S, _}} <- lists:zip(lists:seq(1, length(Networks)), Networks)]}}.
-spec wifi_scan(term()) -> {ok, {non_neg_integer(), [map()]}}.
wifi_scan(_Opts) -> wifi_scan().

%% @doc Pure (no process of its own): host-only stand-in for AtomVM's `network' module: the station and access point are up at once with
%% a loopback address, and the configured callbacks run as they would on a device.
%% Never packed into a bundle.
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
    callback(Sta, connected, []),
    callback(Sta, got_ip, [?IP_INFO]),
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
-spec wait_for_sta(term()) -> {ok, tuple()}.
wait_for_sta(_ConfigOrTimeout) -> wait_for_sta().
-spec wait_for_sta(term(), timeout()) -> {ok, tuple()}.
wait_for_sta(_Config, _Timeout) -> wait_for_sta().

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
-spec wifi_scan() -> {ok, []}.
wifi_scan() -> {ok, []}.
-spec wifi_scan(term()) -> {ok, []}.
wifi_scan(_Opts) -> {ok, []}.

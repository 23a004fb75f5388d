%% @doc Process (API): starts and stops an HTTP server. Merges the config over the profile's
%% defaults (`httpd_profile') and the host harness's overrides, compiles the routes once and hands
%% everything to `gen_tcp_server' with `httpd_conn' as the protocol.
%%
%% Host overrides: `application:get_env(avmd, httpd_overrides, #{})' is merged over the app's config
%% (its keys win; `middleware_prepend => [Step]' goes before the app's middleware). Devices have no
%% such env, so this is a no-op there.
-module(httpd_server).

-export([start/1, stop/1, port/1, info/1, config/1]).

%% The keys the server understands; anything else in the config is refused, so a typo is an error
%% instead of a silently ignored limit.
-define(KEYS, [
    port, address, backlog, routes, middleware, profile, max_connections, on_full,
    max_request_line, max_header_bytes, max_headers, max_body, header_timeout, idle_timeout,
    idle_report_after, max_keepalive_requests, max_ws_connections, max_ws_message, ws_idle_timeout
]).

%% @doc Starts a server. `Config' keys are listed in ARCHITECTURE.md; `profile' (default `host')
%% picks the defaults.
-spec start(map()) -> {ok, pid()} | {error, term()}.
start(Config) when is_map(Config) ->
    case config(Config) of
        {ok, Cfg} ->
            gen_tcp_server:start(#{
                port => maps:get(port, Cfg),
                address => maps:get(address, Cfg),
                backlog => maps:get(backlog, Cfg),
                max_connections => maps:get(max_connections, Cfg),
                on_full => maps:get(on_full, Cfg),
                protocol => httpd_conn,
                args => conn_config(Cfg)
            });
        Error ->
            Error
    end;
start(_) ->
    {error, {bad_config, not_a_map}}.

%% @doc Stops a server and closes its connections.
-spec stop(pid()) -> ok.
stop(Server) ->
    gen_tcp_server:stop(Server).

%% @doc The port the server is bound to.
-spec port(pid()) -> 0..65535.
port(Server) ->
    gen_tcp_server:port(Server).

%% @doc Connection counters (open, idle, slots per kind).
-spec info(pid()) -> map().
info(Server) ->
    gen_tcp_server:info(Server).

%% @doc The effective config: profile defaults, then `Config', then the host overrides; checked.
-spec config(map()) -> {ok, map()} | {error, term()}.
config(Config) ->
    Overrides = application:get_env(avmd, httpd_overrides, #{}),
    Profile = maps:get(profile, Overrides, maps:get(profile, Config, host)),
    case lists:member(Profile, httpd_profile:profiles()) of
        false ->
            {error, {bad_config, profile, Profile}};
        true ->
            Prepend = maps:get(middleware_prepend, Overrides, []),
            Merged0 = maps:merge(httpd_profile:merge(Profile, Config), maps:remove(middleware_prepend, Overrides)),
            Merged = Merged0#{middleware => Prepend ++ maps:get(middleware, Merged0)},
            check(Merged)
    end.

check(Cfg) ->
    case [K || K <- maps:keys(Cfg), not lists:member(K, ?KEYS)] of
        [] -> check_values(Cfg);
        [Unknown | _] -> {error, {bad_config, unknown_key, Unknown}}
    end.

check_values(Cfg) ->
    Positive = [
        max_connections, backlog, max_request_line, max_header_bytes, max_headers,
        header_timeout, idle_timeout, idle_report_after, max_keepalive_requests, max_ws_message,
        ws_idle_timeout
    ],
    NonNeg = [max_body, max_ws_connections],
    Bad =
        [{K, maps:get(K, Cfg)} || K <- Positive, not pos_int(maps:get(K, Cfg))] ++
            [{K, maps:get(K, Cfg)} || K <- NonNeg, not non_neg_int(maps:get(K, Cfg))],
    case Bad of
        [{K, V} | _] -> {error, {bad_config, K, V}};
        [] -> check_routes(Cfg)
    end.

check_routes(Cfg = #{routes := Routes, middleware := Mws}) ->
    ValidRoute = fun
        ({P, M, _}) -> is_binary(P) andalso is_atom(M);
        (_) -> false
    end,
    ValidMw = fun
        ({M, _}) -> is_atom(M);
        (_) -> false
    end,
    case is_list(Routes) andalso lists:all(ValidRoute, Routes) of
        false ->
            {error, {bad_config, routes, Routes}};
        true ->
            case is_list(Mws) andalso lists:all(ValidMw, Mws) of
                false ->
                    {error, {bad_config, middleware, Mws}};
                true ->
                    try httpd_router:compile(Routes) of
                        Router -> {ok, Cfg#{router => Router}}
                    catch
                        _:Reason -> {error, {bad_config, routes, Reason}}
                    end
            end
    end.

pos_int(V) -> is_integer(V) andalso V > 0.
non_neg_int(V) -> is_integer(V) andalso V >= 0.

%% What each connection process keeps: only the keys it reads, so that the copy in every
%% connection's heap stays small. The request-head parser's initial state is built once here.
conn_config(Cfg) ->
    Keys = [
        router, middleware, max_body, header_timeout, idle_timeout, idle_report_after,
        max_keepalive_requests, max_ws_connections, max_ws_message, ws_idle_timeout
    ],
    Conn = maps:from_list([{K, maps:get(K, Cfg)} || K <- Keys]),
    Conn#{parser => httpd_parse:new(Cfg)}.

%% @doc Process (API): starts and stops an HTTP server. Merges the config over the profile's
%% defaults (`httpd_profile') and the host harness's overrides, compiles the routes once and hands
%% everything to `gen_tcp_server' with `httpd_conn' as the protocol.
%%
%% Host overrides: `application:get_env(avmd, httpd_overrides, #{})' is merged over the app's config
%% (its keys win; `middleware_prepend => [Step]' goes before the app's middleware). AtomVM's
%% `application:get_env/3' always answers the default, so on a real VM (`avmd run --vm atomvm') the
%% runner passes the port and address in the environment instead: `AVMD_HTTPD_PORT',
%% `AVMD_HTTPD_ADDRESS' (dotted quad). A device has neither, so this is a no-op there.
%% `AVMD_HTTPD_TRANSPORT' (gen_tcp | socket) picks `tcp_transport''s backend, for tests.
-module(httpd_server).

-export([start/1, stop/1, port/1, info/1, config/1]).

%% The keys the server understands; anything else in the config is refused, so a typo is an error
%% instead of a silently ignored limit. Each integer limit maps to its least value; `any' keys are
%% checked elsewhere (profile above, port/address/on_full by gen_tcp_server, routes/middleware below).
-define(KEYS, #{
    port => any, address => any, transport => any, profile => any, on_full => any, routes => any, middleware => any,
    ota => any, mdns => any,
    max_connections => 1, backlog => 1, max_request_line => 1, max_header_bytes => 1, max_headers => 1,
    header_timeout => 1, idle_timeout => 1, idle_report_after => 1, max_keepalive_requests => 1,
    max_ws_message => 1, ws_idle_timeout => 1, max_body => 0, max_ws_connections => 0
}).

%% @doc Starts a server. `Config' keys are listed in docs/handlers.md; `profile' (default `host')
%% picks the defaults.
-spec start(map()) -> {ok, pid()} | {error, term()}.
start(Config) when is_map(Config) ->
    case ota(config(Config)) of
        {ok, Cfg} ->
            Opts = copy([port, address, backlog, max_connections, on_full], Cfg,
                        #{protocol => httpd_conn, args => conn_config(Cfg)}),
            %% transport is optional: tcp_transport picks the VM's own when it is not given, except
            %% that modules written for atomvm_lib get a `socket' in their request on OTP too
            mdns(Cfg, gen_tcp_server:start(case Cfg of
                #{transport := T} -> Opts#{transport => T};
                #{routes := Routes} -> case atomvm_lib_routes(Routes) of
                    true -> Opts#{transport => socket};
                    false -> Opts
                end
            end));
        Error ->
            Error
    end;
start(_) ->
    {error, {bad_config, not_a_map}}.

%% `mdns => #{...}' (docs/devices.md): once the port is bound, `mdns_responder' announces the server as
%% `<device>._avmd._tcp.local', with the OTA facts in TXT when `ota' is on. The interface is
%% `mdns => #{interface => Ip}' or the server's own address. A device announces; a VM on a
%% computer only when `AVMD_MDNS=1' (`avmd sim --mdns', the tests' network namespaces), so nothing
%% multicasts onto a developer's LAN by surprise.
mdns(Cfg = #{mdns := Mdns}, {ok, Server}) when is_map(Mdns) ->
    If = maps:get(interface, Mdns, maps:get(address, Cfg, any)),
    case announces() of
        false ->
            ok;
        true when not is_tuple(If) ->
            io:format("httpd: mdns needs the device's address: mdns => #{interface => {A, B, C, D}}~n");
        true ->
            Facts = txt(Cfg),
            Instance = maps:get(instance, Mdns, proplists:get_value(<<"device">>, Facts, device_flash:device_id())),
            case mdns_responder:start(Server, maps:merge(#{interface => If, http_port => port(Server),
                                                           instance => Instance, txt => Facts}, Mdns)) of
                {ok, _} -> ok;
                {error, Reason} -> io:format("httpd: mdns did not start: ~p~n", [Reason])
            end
    end,
    {ok, Server};
mdns(_Cfg, Result) ->
    Result.

announces() ->
    %% the host shim's platform is the profile's, so ask the machine too: only AtomVM runs on a board
    case {erlang:system_info(machine), atomvm:platform()} of
        {"ATOM", P} when P =:= esp32; P =:= pico -> true;
        _ -> os:getenv("AVMD_MDNS") =:= "1"
    end.

%% The TXT pairs: what `/_avm/info' says of the running build, when OTA is on.
txt(#{ota := _}) ->
    Info = ota_agent:info(),
    [{K, text(maps:get(K, Info, null))}
     || K <- [<<"device">>, <<"app">>, <<"version">>, <<"sha256">>, <<"platform">>, <<"key_id">>],
        maps:get(K, Info, null) =/= null];
txt(_Cfg) ->
    [{<<"platform">>, atom_to_binary(atomvm:platform(), latin1)}].

text(B) when is_binary(B) -> B;
text(A) when is_atom(A) -> atom_to_binary(A, latin1);
text(I) when is_integer(I) -> integer_to_binary(I).

%% `ota => #{app => App}' (docs/ota.md): the OTA agent starts (a trial boot is armed at once) and
%% `/_avm/*' goes to `httpd_ota' ahead of the app's routes.
ota({ok, Cfg = #{ota := Ota, routes := Routes}}) when is_map(Ota) ->
    case ota_agent:start(Ota) of
        ok ->
            Routes2 = [{<<"/_avm/*">>, httpd_ota, #{}} | Routes],
            {ok, Cfg#{routes := Routes2, router => httpd_router:compile(adapt(Routes2))}};
        {error, Reason} ->
            {error, {ota, Reason}}
    end;
ota({ok, #{ota := Ota}}) ->
    {error, {bad_config, ota, Ota}};
ota(Other) ->
    Other.

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
    Overrides = overrides(),
    Profile = maps:get(profile, Overrides, maps:get(profile, Config, host)),
    case lists:member(Profile, httpd_profile:profiles()) of
        false ->
            {error, {bad_config, profile, Profile}};
        true ->
            Prepend = maps:get(middleware_prepend, Overrides, []),
            Merged0 = maps:merge(httpd_profile:merge(Profile, Config), maps:remove(middleware_prepend, Overrides)),
            Merged = Merged0#{middleware => Prepend ++ maps:get(middleware, Merged0)},
            check(maps:to_list(Merged), Merged)
    end.

overrides() ->
    case application:get_env(avmd, httpd_overrides, undefined) of
        undefined -> maps:merge(env_overrides(), env_transport());
        Overrides -> maps:merge(env_transport(), Overrides)
    end.

%% `AVMD_HTTPD_TRANSPORT=socket' runs OTP on the transport AtomVM uses (tcp_transport), so the host
%% tests cover the device's socket code path too.
env_transport() ->
    case os:getenv("AVMD_HTTPD_TRANSPORT") of
        "socket" -> #{transport => socket};
        "gen_tcp" -> #{transport => gen_tcp};
        _ -> #{}
    end.

%% The runner's environment, read with the BIF every platform has (`os:getenv/1' answers `false'
%% for a variable that is not set, and on a device for every variable).
env_overrides() ->
    Port = case os:getenv("AVMD_HTTPD_PORT") of
        false -> #{};
        P -> #{port => list_to_integer(P)}
    end,
    Address = case os:getenv("AVMD_HTTPD_ADDRESS") of
        false -> Port;
        A -> Port#{address => list_to_tuple([binary_to_integer(N) || N <- binary:split(list_to_binary(A), <<".">>, [global])])}
    end,
    %% `avmd dev --vm atomvm': the project's device profile, and live reload (its middleware is in the
    %% dev copy of the bundle only; AtomVM cannot inflate gzip, so pages are asked for in identity)
    Profile = case os:getenv("AVMD_HTTPD_PROFILE") of
        false -> Address;
        %% an unknown name stays a string, which config/1 refuses as a bad profile
        Pr -> Address#{profile => hd([P || P <- httpd_profile:profiles(), atom_to_list(P) =:= Pr] ++ [Pr])}
    end,
    case os:getenv("AVMD_HTTPD_RELOAD_URL") of
        false -> Profile;
        Url -> Profile#{middleware_prepend => [{avmd_dev_reload, #{script_url => list_to_binary(Url), identity => true}}]}
    end.

%% Checks every key (the first bad one is the error), then compiles the routes.
check([{K, V} | Rest], Cfg) ->
    case valid(K, V) of
        true -> check(Rest, Cfg);
        false -> {error, {bad_config, K, V}};
        unknown -> {error, {bad_config, unknown_key, K}}
    end;
check([], Cfg = #{routes := Routes}) ->
    try httpd_router:compile(adapt(Routes)) of
        Router -> {ok, Cfg#{router => Router}}
    catch
        _:Reason -> {error, {bad_config, routes, Reason}}
    end.

%% Whether a route runs a module written for atomvm_lib's API (whose request carries the socket).
atomvm_lib_routes([{_, M, Opts} | Rest]) ->
    Legacy = case {M, Opts} of
        {httpd_api_handler, #{module := _}} -> true;
        {httpd_api_handler, #{handler := H}} -> exports(H, handle_api_request, 4);
        {httpd_ws_handler, #{module := _}} -> true;
        {httpd_ws_handler, #{handler := H}} -> exports(H, handle_ws_init, 3);
        _ -> not exports(M, handle, 2) andalso exports(M, handle_http_req, 2)
    end,
    Legacy orelse atomvm_lib_routes(Rest);
atomvm_lib_routes([]) ->
    false.

exports(M, F, A) when is_atom(M) ->
    _ = code:ensure_loaded(M),
    erlang:function_exported(M, F, A);
exports(_, _, _) ->
    false.

%% A route whose module is written for atomvm_lib's httpd (`handle_http_req/2' and no `handle/2') runs
%% through `httpd_legacy'; decided once here, not per request. A handler exporting `prepare/1'
%% (httpd_handler) gets its options prepared here once.
adapt([{P, M, Opts} | Rest]) ->
    Route = case exports(M, handle, 2) orelse not exports(M, handle_http_req, 2) of
        true -> {P, M, prepare_opts(M, Opts)};
        false -> {P, httpd_legacy, #{handler => M, handler_config => Opts}}
    end,
    [Route | adapt(Rest)];
adapt([]) ->
    [].

prepare_opts(M, Opts) ->
    case exports(M, prepare, 1) of
        true -> M:prepare(Opts);
        false -> Opts
    end.

valid(routes, [{P, M, _} | Rest]) when is_binary(P), is_atom(M) -> valid(routes, Rest);
valid(middleware, [{M, _} | Rest]) when is_atom(M) -> valid(middleware, Rest);
valid(K, V) ->
    case ?KEYS of
        #{K := Min} when is_integer(Min) -> is_integer(V) andalso V >= Min;
        %% a list that ran out of valid entries
        #{K := any} when K =:= routes; K =:= middleware -> V =:= [];
        #{K := any} -> true;
        _ -> unknown
    end.

%% What each connection process keeps: only the keys it reads, so that the copy in every
%% connection's heap stays small. The request-head parser's initial state and the reply's prepared
%% options (with the constants both use: see httpd_parse's #k) are built once here.
conn_config(Cfg) ->
    copy([router, max_body, header_timeout, idle_timeout, idle_report_after,
          max_keepalive_requests, max_ws_connections, max_ws_message, ws_idle_timeout],
         Cfg, #{parser => httpd_parse:new(Cfg), reply => httpd_reply:opts(),
                middleware => prepare_steps(map_get(middleware, Cfg))}).

%% A middleware module may export `prepare(Opts) -> Opts' (httpd_middleware): it runs once here,
%% so that no request pays for filling in its defaults.
prepare_steps([{M, Opts} | Rest]) ->
    [{M, prepare_opts(M, Opts)} | prepare_steps(Rest)];
prepare_steps([]) ->
    [].

%% Into plus the values From has for Keys.
copy([K | Keys], From, Into) -> copy(Keys, From, Into#{K => map_get(K, From)});
copy([], _From, Into) -> Into.

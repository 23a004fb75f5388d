%% @doc Process (API): atomvm_lib's `httpd' entry points, for apps written against it, on our server
%% (`httpd_server': our connection code, parser, limits, replies). The module name is atomvm_lib's,
%% which such apps call; it is the one runtime module named after an OTP one (inets' `httpd'), which
%% no device has and the host harness never starts.
%%
%% Config: `[{PathPrefix, #{handler => Mod, handler_config => Config}}]', prefixes as lists of binaries
%% (`[<<"api">>]', `[]' for everything), matched in list order, so the longest goes first. `Mod' may be
%% a module written for atomvm_lib (`init_handler/2' + `handle_http_req/2', run by `httpd_legacy'),
%% atomvm_lib's `httpd_api_handler', `httpd_ws_handler' or `httpd_file_handler' (ours, which take
%% atomvm_lib's `#{module => M, args => A}' and `#{app => App}'), or any handler written for our API
%% (`handle/2'), which then gets `Config' as its options. docs/migrating.md has the details.
-module(httpd).

-export([start/1, start/2, start/3, start_link/2, start_link/3, stop/1, routes/1]).

%% @doc Starts a server from atomvm_lib's config map: `port' (default 8080) and `handlers', plus any
%% key of `httpd_server:start/1' (`address', `profile', limits). The profile defaults to the board's
%% (`esp32', `pico_w', else `host'); on the host harness avmd's overrides win as for any app.
-spec start(map()) -> {ok, pid()} | {error, term()}.
start(Config = #{handlers := Handlers}) ->
    try routes(Handlers) of
        Routes ->
            Base = maps:remove(handlers, Config),
            Cfg = address(Base#{port => maps:get(port, Base, 8080), routes => Routes}),
            httpd_server:start(maps:merge(#{profile => profile(atomvm:platform())}, Cfg))
    catch
        error:{bad_handler, _} = Bad -> {error, {bad_config, Bad}}
    end;
start(Other) ->
    {error, {bad_config, Other}}.

%% @doc atomvm_lib's `httpd:start(Port, Config)'.
-spec start(0..65535, list()) -> {ok, pid()} | {error, term()}.
start(Port, Handlers) ->
    start(#{port => Port, handlers => Handlers}).

%% @doc atomvm_lib's `httpd:start(Address, Port, Config)'; `Address' is `any', `loopback' or a tuple.
-spec start(any | loopback | tuple(), 0..65535, list()) -> {ok, pid()} | {error, term()}.
start(Address, Port, Handlers) ->
    start(#{address => Address, port => Port, handlers => Handlers}).

%% @doc As `start/2', linked to the caller.
start_link(Port, Handlers) ->
    linked(start(Port, Handlers)).

%% @doc As `start/3', linked to the caller.
start_link(Address, Port, Handlers) ->
    linked(start(Address, Port, Handlers)).

%% @doc Stops a server started here.
-spec stop(pid()) -> ok.
stop(Server) ->
    httpd_server:stop(Server).

linked({ok, Pid}) ->
    link(Pid),
    {ok, Pid};
linked(Error) ->
    Error.

address(Cfg = #{address := loopback}) -> Cfg#{address := {127, 0, 0, 1}};
address(Cfg) -> Cfg.

profile(esp32) -> esp32;
profile(pico) -> pico_w;
profile(_) -> host.

%% @doc Pure. atomvm_lib's handler list → our route list, in the same order: prefix `[<<"api">>]'
%% becomes `/api/*' (which also matches `/api'), `[]' becomes `/*'. `httpd_server' wraps the modules
%% written for atomvm_lib in `httpd_legacy'.
-spec routes([{[binary()], map()}]) -> [{binary(), module(), term()}].
routes([{Prefix, Entry = #{handler := Mod}} | Rest]) when is_list(Prefix), is_atom(Mod) ->
    [{pattern(Prefix, <<>>), Mod, maps:get(handler_config, Entry, #{})} | routes(Rest)];
routes([]) ->
    [];
routes([Bad | _]) ->
    erlang:error({bad_handler, Bad}).

pattern([Seg | Rest], Acc) when is_binary(Seg) -> pattern(Rest, <<Acc/binary, "/", Seg/binary>>);
pattern([Seg | Rest], Acc) when is_list(Seg) -> pattern([list_to_binary(Seg) | Rest], Acc);
pattern([], Acc) -> <<Acc/binary, "/*">>.

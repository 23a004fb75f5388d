%% @doc Process: the example application's start module. `start/0' starts the HTTP server with the
%% routes below and keeps the calling process alive, as an AtomVM start module must (the VM stops
%% when `start/0' returns).
%%
%% On a device it listens on port 8080 with the `esp32' profile's limits. On the host the harness
%% (avmd, or serve_host.sh) changes the port through `httpd_overrides' (ARCHITECTURE.md).
-module(hello_web).

-export([start/0, routes/0, middleware/0, config/0]).

%% @doc Starts the server, prints the bound port, and never returns.
-spec start() -> no_return().
start() ->
    case httpd_server:start(config()) of
        {ok, Server} ->
            io:format("hello_web listening on port ~p~n", [httpd_server:port(Server)]),
            wait_forever();
        {error, Reason} ->
            io:format("hello_web failed to start: ~p~n", [Reason]),
            erlang:error({hello_web_start, Reason})
    end.

wait_forever() ->
    receive
        _ -> wait_forever()
    end.

%% @doc The server config.
-spec config() -> map().
config() ->
    #{port => 8080, profile => esp32, routes => routes(), middleware => middleware(),
      %% /_avm/info and over-the-network updates (`avmd push`, docs/ota.md)
      ota => #{app => hello_web},
      %% announce `<device>._avmd._tcp.local' so `avmd devices' finds it (docs/devices.md); on a
      %% computer only with AVMD_MDNS=1
      mdns => #{}}.

%% @doc Every route of the example.
-spec routes() -> [{binary(), module(), term()}].
routes() ->
    Static = #{app => hello_web, dir => <<"www">>, cache_control => <<"max-age=60">>},
    [
        {<<"/">>, httpd_static, Static#{methods => [<<"GET">>]}},
        {<<"/api/hello">>, httpd_api_handler, #{handler => hello_web_api, methods => [<<"GET">>]}},
        {<<"/api/echo">>, httpd_api_handler, #{handler => hello_web_api, methods => [<<"POST">>]}},
        {<<"/api/items/:id">>, httpd_api_handler, #{
            handler => hello_web_api, methods => [<<"GET">>, <<"PUT">>, <<"DELETE">>]
        }},
        {<<"/stream">>, hello_web_stream, #{methods => [<<"GET">>]}},
        {<<"/upload">>, hello_web_upload, #{methods => [<<"POST">>]}},
        {<<"/ws/echo">>, httpd_ws_handler, #{handler => echo_ws}},
        {<<"/ws/counter">>, httpd_ws_handler, #{handler => counter_ws}},
        {<<"/*">>, httpd_static, Static#{methods => [<<"GET">>]}}
    ].

%% @doc Security headers on every response and one log line per request.
-spec middleware() -> [{module(), term()}].
middleware() ->
    [{httpd_mw_log, #{}}, {httpd_mw_security, #{}}].

%% @doc Pure: device profiles, the default limits of the server's one config map per kind of board,
%% and the merge of an application's config over them.
%%
%% Why these numbers: an ESP32's lwIP has about 10 sockets in all (FACTS.md, "Sockets") and
%% ESP-IDF's own server defaults to 7; a browser opens up to 6 connections per origin and keeps them
%% idle, so devices evict the oldest idle one when full instead of locking the user out. Header and
%% URI limits of 2048/4096 bytes leave room for cookies (ESP-IDF's 512 bytes is its most reported
%% 431) yet keep a request head within a few KB of RAM. The host profile follows Cowboy
%% (request line 8000, 100 headers, 1000 requests per connection).
-module(httpd_profile).

-export([defaults/1, merge/2, profiles/0]).

-type profile() :: esp32 | esp32c3 | esp32s3 | pico_w | host.
-export_type([profile/0]).

%% @doc The profiles there are.
-spec profiles() -> [profile()].
profiles() -> [esp32, esp32c3, esp32s3, pico_w, host].

%% @doc The full config map of a profile: every limit the server knows.
-spec defaults(profile()) -> map().
defaults(esp32) ->
    %% ~320 KB of RAM, ~10 lwIP sockets shared with the app: 5 HTTP connections plus the listener
    %% leaves room for the app's own sockets; 2 of them may be WebSockets.
    device(#{max_connections => 5, max_ws_connections => 2});
defaults(esp32c3) ->
    %% ~400 KB RAM but a single core: fewer concurrent handlers keep latency even.
    device(#{max_connections => 4, max_ws_connections => 2});
defaults(esp32s3) ->
    %% Often with PSRAM: a little more room for connections and uploads.
    device(#{max_connections => 6, max_ws_connections => 3, max_body => 2097152, max_ws_message => 16384});
defaults(pico_w) ->
    %% 264 KB RAM and a small lwIP pool on the CYW43 driver.
    device(#{max_connections => 4, max_ws_connections => 1, max_body => 524288, max_ws_message => 4096});
defaults(host) ->
    #{
        port => 8080,
        address => any,
        backlog => 128,
        routes => [],
        middleware => [],
        max_connections => 64,
        on_full => reject,
        max_request_line => 8000,
        max_header_bytes => 65536,
        max_headers => 100,
        %% Large enough for a firmware image (1 MB main.avm partition) plus margin.
        max_body => 8388608,
        header_timeout => 5000,
        idle_timeout => 60000,
        idle_report_after => 1000,
        max_keepalive_requests => 1000,
        max_ws_connections => 32,
        max_ws_message => 1048576,
        ws_idle_timeout => 60000
    };
defaults(Other) ->
    error({unknown_profile, Other}).

%% The shared device baseline; each board overrides what differs.
device(Overrides) ->
    maps:merge(
        #{
            port => 80,
            address => any,
            backlog => 4,
            routes => [],
            middleware => [],
            max_connections => 4,
            %% Browsers keep idle keep-alive sockets; with a handful of sockets, evicting the oldest
            %% idle one is what keeps the UI reachable.
            on_full => evict_idle,
            max_request_line => 2048,
            max_header_bytes => 4096,
            max_headers => 32,
            %% An OTA image fits (main.avm is 1 MB); handlers read it in pieces, never whole.
            max_body => 1048576,
            header_timeout => 5000,
            %% Short: an idle socket is a scarce socket.
            idle_timeout => 15000,
            idle_report_after => 1000,
            max_keepalive_requests => 100,
            max_ws_connections => 2,
            max_ws_message => 8192,
            ws_idle_timeout => 60000
        },
        Overrides
    ).

%% @doc The profile's defaults with `Config' on top (keys of `Config' win).
-spec merge(profile(), map()) -> map().
merge(Profile, Config) when is_map(Config) ->
    maps:merge(defaults(Profile), Config).

%% @doc Process-side handler (reads priv files): atomvm_lib's `httpd_file_handler', served by
%% `httpd_static'. Mounted as `{[], #{handler => httpd_file_handler, handler_config => #{app => App}}}'
%% in `httpd:start/1,2', it serves the app's priv directory from its root, as atomvm_lib's does, with
%% what `httpd_static' adds: `index.html' for a directory, `.gz' twins, ETag/304, Cache-Control,
%% traversal refused with 400. Any `httpd_static' option (`dir', `cache_control', `index') may be
%% given in the same map.
-module(httpd_file_handler).
-behaviour(httpd_handler).

-export([handle/2]).

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, Opts = #{app := _}) ->
    httpd_static:handle(Req, maps:merge(#{dir => <<>>}, Opts)).

%% @doc Test fixture handler: crashes (`error(boom)'), or returns garbage with `mode => bad_result'.
-module(crash_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), map()) -> httpd_handler:result().
handle(_Req, #{mode := bad_result}) ->
    not_a_result;
handle(_Req, _Opts) ->
    erlang:error(boom).

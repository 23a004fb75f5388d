-module(ours_h).
-behaviour(httpd_handler).
-export([handle/2]).

handle(_Req, _Opts) ->
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], <<"ours\n">>}.

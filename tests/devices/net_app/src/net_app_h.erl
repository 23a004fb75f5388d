-module(net_app_h).
-behaviour(httpd_handler).
-export([handle/2]).

handle(_Req, _Opts) ->
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], <<"net_app up\n">>}.

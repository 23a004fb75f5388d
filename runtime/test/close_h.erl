%% @doc Test fixture handler: replies with `connection: close' set by the handler itself.
-module(close_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), term()) -> httpd_handler:result().
handle(_Req, _Opts) ->
    {reply, 200, [{<<"connection">>, <<"close">>}], <<"bye">>}.

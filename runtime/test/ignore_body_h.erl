%% @doc Test fixture handler: replies without reading the request body.
-module(ignore_body_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), term()) -> httpd_handler:result().
handle(_Req, _Opts) ->
    {reply, 201, [], <<"ignored">>}.

%% @doc Test fixture handler: a fixed 13-byte text reply (the benchmark's body).
-module(hello_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), term()) -> httpd_handler:result().
handle(_Req, _Opts) ->
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], <<"Hello, world!">>}.

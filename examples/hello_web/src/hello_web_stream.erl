%% @doc Process-side handler: `GET /stream', a chunked reply sent in five pieces, so the page can
%% show text arriving before the response is complete.
-module(hello_web_stream).
-behaviour(httpd_handler).

-export([handle/2]).

%% @doc httpd_handler callback.
-spec handle(map(), term()) -> httpd_handler:result().
handle(Req, _Opts) ->
    Req2 = httpd_handler:stream_reply(200, [{<<"content-type">>, <<"text/plain">>}], Req),
    lists:foreach(
        fun(I) -> ok = httpd_handler:stream_body([<<"piece ">>, integer_to_binary(I), <<"\n">>], nofin, Req2) end,
        lists:seq(1, 5)
    ),
    ok = httpd_handler:stream_body(<<"done\n">>, fin, Req2),
    {done, Req2}.

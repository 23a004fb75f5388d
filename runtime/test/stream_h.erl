%% @doc Test fixture handler: a streamed reply of `n' pieces (route option, default 3) `piece-I;',
%% ending with fin unless `fin => false'.
-module(stream_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, Opts) ->
    N = maps:get(n, Opts, 3),
    Req2 = httpd_handler:stream_reply(200, [{<<"content-type">>, <<"text/plain">>}], Req),
    lists:foreach(
        fun(I) -> ok = httpd_handler:stream_body([<<"piece-">>, integer_to_binary(I), <<";">>], nofin, Req2) end,
        lists:seq(1, N)
    ),
    case maps:get(fin, Opts, true) of
        true -> ok = httpd_handler:stream_body(<<>>, fin, Req2);
        false -> ok
    end,
    {done, Req2}.

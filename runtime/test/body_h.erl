%% @doc Test fixture handler: reads the request body with read_body in pieces of `length' bytes
%% (route option, default 1000) and answers `bytes=N pieces=K max=M' without keeping the body, or
%% with `echo => true' the body itself.
-module(body_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, Opts) ->
    Len = maps:get(length, Opts, 1000),
    Echo = maps:get(echo, Opts, false),
    read(httpd_handler:read_body(Req, #{length => Len}), Len, Echo, 0, 0, 0, []).

read({more, Bin, Req}, Len, Echo, N, K, M, Acc) ->
    read(httpd_handler:read_body(Req, #{length => Len}), Len, Echo, N + byte_size(Bin), K + 1,
         max(M, byte_size(Bin)), keep(Echo, Bin, Acc));
read({ok, Bin, Req}, _Len, Echo, N, K, M, Acc) ->
    Body =
        case Echo of
            true -> lists:reverse(keep(Echo, Bin, Acc));
            false ->
                io_lib:format("bytes=~b pieces=~b max=~b", [N + byte_size(Bin), K + 1, max(M, byte_size(Bin))])
        end,
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], Body, Req}.

keep(true, Bin, Acc) -> [Bin | Acc];
keep(false, _Bin, Acc) -> Acc.

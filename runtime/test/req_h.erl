%% @doc Test fixture handler: replies with the request map's public fields as an Erlang term
%% (term_to_binary), so suites can check what the handler saw.
-module(req_h).
-behaviour(httpd_handler).
-export([handle/2]).

-spec handle(map(), term()) -> httpd_handler:result().
handle(Req, _Opts) ->
    Public = maps:without(['$conn'], Req),
    {reply, 200, [{<<"content-type">>, <<"application/octet-stream">>}], term_to_binary(Public)}.
